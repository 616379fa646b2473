//! One moto server (the AWS emulator, `pip install 'moto[server]'`) per test
//! binary, on a free loopback port, started on first use and killed when the
//! test process ends (PR_SET_PDEATHSIG on the thread that owns it). Each test
//! uses its own table, queue or parameter names, so tests never share state.

use aws_config::{Region, SdkConfig};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
}

static MOTO: LazyLock<Moto> = LazyLock::new(start);

fn start() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // moto's own `moto_server` serves each request on a thread, and its
    // backends are not thread-safe (two concurrent ReceiveMessage calls can
    // get the same message; two conditional writes can both succeed). Real
    // AWS is not racy like that, so the emulator runs single-threaded here.
    let bin = "python3".to_string();
    let script = format!(
        "import os; os.environ['MOTO_PORT'] = '{port}'\n\
         from moto.server import DomainDispatcherApplication, create_backend_app\n\
         from werkzeug.serving import run_simple\n\
         run_simple('127.0.0.1', {port}, DomainDispatcherApplication(create_backend_app), threaded=False)\n"
    );
    let args: Vec<String> = vec!["-c".into(), script];
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&bin);
        cmd.args(&args).stdout(Stdio::null()).stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only marks the child to be
        // killed when this thread (which lives as long as the process) ends.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                tx.send(Ok(())).unwrap();
                let _ = child.wait();
            }
            Err(e) => tx.send(Err(e.to_string())).unwrap(),
        }
        // Keep the owning thread alive for the life of the process.
        loop {
            std::thread::park();
        }
    });
    if let Err(e) = rx.recv().unwrap() {
        panic!("cannot start moto ({e}): install it with `pip install 'moto[server]'`");
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "moto did not start on {endpoint} within 60 s: install it with `pip install 'moto[server]'`"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto { endpoint }
}

/// The shared server's endpoint.
pub fn endpoint() -> &'static str {
    &MOTO.endpoint
}

/// An SDK config pointed at the emulator, with throwaway credentials.
pub async fn config() -> SdkConfig {
    nightshift_aws::sdk_loader()
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
