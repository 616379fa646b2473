#!/usr/bin/env bash
# Checks template.yaml with cfn-lint and the SAM CLI (both from PyPI), then runs
# the template's Rust test. Fails on any error and on any cfn-lint warning.
#
# The two tools live in a virtualenv of their own (pinned below, installed on the
# first run), so their dependencies never touch the system's Python. No AWS
# account is needed: SAM gets dummy credentials and makes no AWS call.
#
#   bash scripts/validate-template.sh            # lint + validate + cargo test
#   NIGHTSHIFT_SKIP_CARGO=1 bash scripts/...     # only the Python tools
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_VERSION=${SAM_VERSION:-1.170.0}
CFN_LINT_VERSION=${CFN_LINT_VERSION:-1.58.0}
tools=${NIGHTSHIFT_AWS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/nightshift-aws-tools}
want="aws-sam-cli==$SAM_VERSION cfn-lint==$CFN_LINT_VERSION"

if [ "$(cat "$tools/.installed" 2>/dev/null)" != "$want" ]; then
    echo "installing $want into $tools..."
    if ! python3 -m venv "$tools" 2>/dev/null; then
        # Debian's python3 ships venv separately.
        sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-venv
        python3 -m venv "$tools"
    fi
    # shellcheck disable=SC2086
    "$tools/bin/pip" install --quiet --disable-pip-version-check $want
    echo "$want" >"$tools/.installed"
fi

# Dummy credentials and a region: `sam validate` builds a boto session even
# though it translates and lints locally.
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTAINER_CONNECTION_TIMEOUT=1

echo "== cfn-lint $("$tools/bin/cfn-lint" --version | awk '{print $2}')"
# Exit status: errors and warnings fail; informational findings are not shown.
"$tools/bin/cfn-lint" -- template.yaml
echo "cfn-lint: no errors, no warnings"

echo "== sam validate (the SAM transform)"
"$tools/bin/sam" validate --template template.yaml --region us-east-1
echo "== sam validate --lint"
"$tools/bin/sam" validate --lint --template template.yaml --region us-east-1

if [ -z "${NIGHTSHIFT_SKIP_CARGO:-}" ]; then
    echo "== cargo test -p nightshift-core --test template"
    cargo test --locked -p nightshift-core --test template
fi
