from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def sample_pairs() -> list[tuple[Path, Path]]:
    pairs = []
    for eml in sorted(SAMPLES.rglob("*.eml")):
        expected = eml.with_suffix(".expected.toml")
        pairs.append((eml, expected))
    return pairs


def need(what: str, available: bool, how: str) -> None:
    """Skip a test whose tool is missing, saying how to get it; in CI (which installs them all) fail instead."""
    if available:
        return
    message = f"{what} is not installed ({how})"
    if os.environ.get("BOUNCE_ANALYZER_TEST_REQUIRE_ALL"):
        pytest.fail(message)
    pytest.skip(message)


def run_cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None, env: dict[str, str] | None = None):
    """Run the command as a user would, in a child process."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "bounce_analyzer", *args], input=stdin, capture_output=True,
                          cwd=cwd or ROOT, timeout=120, env=env)


def on_terminal(*args: str, stream: str = "stdout", env: dict[str, str] | None = None,
                rows: int = 24, columns: int = 100) -> tuple[int, bytes]:
    """Run the command line with one of its streams (stdout or stderr) on a pseudo-terminal of the given size:
    its exit status and what it wrote there."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))  # a terminal has a size
    out = {"stdout": follower, "stderr": subprocess.DEVNULL}
    err = {"stdout": subprocess.DEVNULL, "stderr": follower}
    proc = subprocess.Popen([sys.executable, "-m", "bounce_analyzer", *args], cwd=ROOT, stdout=out[stream],
                            stderr=err[stream], env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(60)
    os.close(leader)
    return proc.returncode, seen


@pytest.fixture(scope="session", autouse=True)
def _rules_cache_dir(tmp_path_factory):
    """Cached rule sets go to a folder of the test run's own (the command lines the tests start inherit it)."""
    from bounce_analyzer.cache import ENV

    before = os.environ.get(ENV)
    os.environ[ENV] = str(tmp_path_factory.mktemp("rules-cache"))
    yield
    if before is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = before


@pytest.fixture
def cli():
    return run_cli


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_greeting(port: int, greeting: bytes, proc, deadline: float) -> bool:
    import socket
    import time

    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(greeting):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


@pytest.fixture(scope="session")
def mail_server():
    """A real Dovecot serving IMAP and POP3 on 127.0.0.1 for user "test" (password "secret")."""
    import shutil
    import subprocess
    import tempfile
    import time

    need("Dovecot", Path("/usr/sbin/dovecot").exists() and Path("/usr/lib/dovecot/pop3").exists(),
         "apt-get install dovecot-imapd dovecot-pop3d")
    need("openssl", shutil.which("openssl") is not None, "apt-get install openssl")
    d = Path(tempfile.mkdtemp(prefix="bounce-analyzer-dovecot-"))
    d.chmod(0o711)  # the mail process runs as another user and must reach its folder
    # a certificate of our own for 127.0.0.1: the tests give it as the CA, or see it refused without
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")], check=True, capture_output=True)
    ports = [_free_port() for _ in range(4)]
    imap_port, pop3_port, imaps_port, pop3s_port = ports
    proc = subprocess.Popen(["sh", str(ROOT / "tests" / "servers" / "dovecot.sh"), str(d), *map(str, ports)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    if not (_wait_for_greeting(imap_port, b"* OK", proc, deadline)
            and _wait_for_greeting(pop3_port, b"+OK", proc, deadline)):
        proc.kill()
        log = (d / "dovecot.log").read_text() if (d / "dovecot.log").exists() else ""
        raise RuntimeError(f"Dovecot did not start: {proc.stdout.read()!r}\n{log}")
    yield {"host": "127.0.0.1", "imap_port": imap_port, "pop3_port": pop3_port, "imaps_port": imaps_port,
           "pop3s_port": pop3s_port, "ca": d / "cert.pem", "user": "test", "password": "secret",
           "home": d / "mail" / "test"}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(d, ignore_errors=True)
