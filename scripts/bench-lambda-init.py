#!/usr/bin/env python3
"""Lambda cold-start figures, measured on this machine: for each built function
(a `bootstrap` binary, as cargo-lambda builds it), the time from process start
to its first request to the Lambda Runtime API (a loopback stand-in that
answers nothing, so the runtime waits there), and its peak memory (VmHWM) at
that moment. Median of N runs each.

What a function does in init is real: it reads its settings document and the
secrets it needs from SSM. Those calls go to $AWS_ENDPOINT_URL; without
--endpoint the script starts moto (`pip install 'moto[server]'`) on a free
loopback port, puts the parameters there, and stops it at the end.

  cargo lambda build --release --x86-64 --output-format zip -p fn-triage -p fn-api \
      -p bench-lambda-hello -p bench-lambda-sdk
  scripts/bench-lambda-init.py [--runs 11] [--endpoint http://127.0.0.1:5000] \
      bench-hello=target/lambda/bench-hello/bootstrap triage=target/lambda/triage/bootstrap ...
"""
import argparse, http.server, os, socketserver, statistics, subprocess, sys, threading, time

class StandIn(http.server.BaseHTTPRequestHandler):
    first = None
    def do_GET(self):
        if StandIn.first is None:
            StandIn.first = time.perf_counter()
        time.sleep(30)  # the runtime waits for the next invocation
    def log_message(self, *a):
        pass

def one(path, env):
    StandIn.first = None
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), StandIn)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    e = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}")
    t0 = time.perf_counter()
    p = subprocess.Popen([path], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hwm = None
    while time.perf_counter() - t0 < 10:
        if StandIn.first is not None:
            try:
                for line in open(f"/proc/{p.pid}/status"):
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1]) / 1024
            except OSError:
                pass
            break
        if p.poll() is not None:
            break
        time.sleep(0.0002)
    first = StandIn.first
    p.kill(); p.wait()
    srv.shutdown(); srv.server_close()
    if first is None:
        return None, None
    return (first - t0) * 1000, hwm

PARAMETERS = {
    "/bench/settings": ("String", "# the defaults\n"),
    "/bench/github-token": ("SecureString", "ghp_bench000000000000000000000000000000"),
    "/bench/github-webhook-secret": ("SecureString", "bench-webhook-secret"),
    "/bench/llm-api-key": ("SecureString", "sk-bench"),
}

def start_moto():
    """moto on a free loopback port, single-threaded as the tests run it."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("from moto.server import DomainDispatcherApplication, create_backend_app\n"
            "from werkzeug.serving import run_simple\n"
            f"run_simple('127.0.0.1', {port}, DomainDispatcherApplication(create_backend_app), threaded=False)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.1)
    p.kill()
    sys.exit("moto did not start: install it with `pip install 'moto[server]'`")

def put_parameters(endpoint):
    try:
        import boto3
    except ImportError:
        sys.exit("boto3 is missing: install moto with `pip install 'moto[server]'`")
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    for name, (kind, value) in PARAMETERS.items():
        ssm.put_parameter(Name=name, Type=kind, Value=value, Overwrite=True)

def main():
    a = argparse.ArgumentParser()
    a.add_argument("--runs", type=int, default=11)
    a.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    a.add_argument("functions", nargs="+")
    args = a.parse_args()
    moto = None
    if args.endpoint is None:
        moto, args.endpoint = start_moto()
    try:
        put_parameters(args.endpoint)
        run(args)
    finally:
        if moto is not None:
            moto.kill(); moto.wait()

def run(args):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": args.endpoint, "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "TABLE_NAME": "bench",
        "SETTINGS_PARAMETER": "/bench/settings", "GITHUB_TOKEN_PARAMETER": "/bench/github-token",
        "WEBHOOK_SECRET_PARAMETER": "/bench/github-webhook-secret", "LLM_API_KEY_PARAMETER": "/bench/llm-api-key",
        # As the template sets it: the one CA bundle, not also every file of
        # the hashed certificate directory (292 here) rustls-native-certs reads.
        "SSL_CERT_FILE": os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
        # The launcher's (it builds an ECS client in init and calls nothing).
        "CLUSTER": "bench", "TASK_DEFINITION": "bench-worker", "SUBNETS": "subnet-1", "SECURITY_GROUP": "sg-1",
    }
    for q in ["TRIAGE", "PLAN", "DISPATCH", "REVIEW", "JOB_EVENTS"]:
        env[f"{q}_QUEUE_URL"] = f"{args.endpoint}/123456789012/{q.lower()}"
        env[f"{q}_DLQ_URL"] = f"{args.endpoint}/123456789012/{q.lower()}-dlq"
    print(f"{'function':<22} {'zip MB':>7} {'first poll ms (median)':>23} {'p10-p90':>14} {'peak MB':>8}")
    for spec in args.functions:
        name, path = spec.split("=", 1)
        if not os.path.exists(path) and os.path.exists(path + ".zip"):
            import zipfile
            zipfile.ZipFile(path + ".zip").extractall(os.path.dirname(path))
            os.chmod(path, 0o755)
        zip_path = os.path.join(os.path.dirname(path), "bootstrap.zip")
        size = os.path.getsize(zip_path) / 1e6 if os.path.exists(zip_path) else float("nan")
        times, mems = [], []
        for _ in range(args.runs):
            t, m = one(path, env)
            if t is not None:
                times.append(t); mems.append(m or 0)
        if not times:
            print(f"{name:<22} {size:>7.2f} {'never polled':>23}")
            continue
        q = statistics.quantiles(times, n=10) if len(times) > 2 else [min(times)] * 9
        print(f"{name:<22} {size:>7.2f} {statistics.median(times):>23.1f} {q[0]:>6.1f}-{q[-1]:<7.1f} {statistics.median(mems):>8.1f}")

if __name__ == "__main__":
    sys.exit(main())
