//! enclog lines shipped through a real rsyslog (Debian's package; `scripts/test.sh` installs it)
//! by a program that logs with the library over syslog (TCP on loopback), then decrypted and
//! verified from rsyslog's output file, syslog headers kept.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use enclog::{EncryptedWriter, Key};

/// rsyslogd in the foreground with a config of its own: TCP input on loopback, one output file
/// in rsyslog's standard file format. Killed on drop.
struct Rsyslog {
    child: Child,
    port: u16,
    output: PathBuf,
}

impl Rsyslog {
    fn start(dir: &Path) -> Rsyslog {
        let rsyslogd = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect(
                "rsyslogd is not installed: run scripts/test.sh (it installs Debian's rsyslog) \
                 or `apt-get install rsyslog`",
            );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let output = dir.join("rsyslog-out.log");
        let work = dir.join("rsyslog-work");
        std::fs::create_dir_all(&work).unwrap();
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{work}\" maxMessageSize=\"64k\")\n\
                 module(load=\"imtcp\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n\
                 *.* action(type=\"omfile\" file=\"{out}\" template=\"RSYSLOG_FileFormat\")\n",
                work = work.display(),
                out = output.display(),
            ),
        )
        .unwrap();
        let child = Command::new(rsyslogd)
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rsyslogd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd never listened on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Rsyslog {
            child,
            port,
            output,
        }
    }

    fn wait_for_lines(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&self.output).unwrap_or_default();
            if text.lines().count() >= n {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "rsyslog wrote {} of {n} lines",
                text.lines().count()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An RFC 5424 syslog client over TCP (LF framing): each line the encrypted writer hands it
/// becomes one syslog message, header and line sent with one write.
struct SyslogTcp {
    stream: Mutex<TcpStream>,
    app: &'static str,
}

impl Write for &SyslogTcp {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut message = format!(
            "<14>1 - enclog-test {} {} - - ",
            self.app,
            std::process::id()
        )
        .into_bytes();
        message.extend_from_slice(line);
        if !message.ends_with(b"\n") {
            message.push(b'\n');
        }
        self.stream.lock().unwrap().write_all(&message)?;
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.lock().unwrap().flush()
    }
}

#[test]
fn lines_shipped_through_rsyslog_decrypt_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog = Rsyslog::start(dir.path());
    let key = Key::generate().unwrap();
    let key_file = super::key_file(dir.path(), &key);

    let client = std::sync::Arc::new(SyslogTcp {
        stream: Mutex::new(TcpStream::connect(("127.0.0.1", rsyslog.port)).unwrap()),
        app: "billing",
    });
    // A plain line from another program shares the file.
    (&*client)
        .write_all(b"a plain message from another program\n")
        .unwrap();
    let writer = EncryptedWriter::new(key.clone(), client).clear_level(true);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(writer.clone())
            .with_ansi(false)
            .finish(),
    );
    const EVENTS: usize = 200;
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..EVENTS {
            let payload = "x".repeat(i * 20); // up to ~4 KB events
            tracing::info!(
                user = "erin@example.com",
                i,
                payload,
                "charge {i}\nsecond line"
            );
        }
    });
    writer.close_session();

    let text = rsyslog.wait_for_lines(1 + EVENTS + 1);
    assert!(
        !text.contains("erin@example.com"),
        "plaintext reached rsyslog"
    );
    let out_path = rsyslog.output.to_str().unwrap().to_owned();

    let out = super::enclog(&["decrypt", "--key-file", &key_file, &out_path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decrypted = String::from_utf8(out.stdout).unwrap();
    assert!(decrypted.contains("a plain message from another program"));
    for i in [0, 1, EVENTS / 2, EVENTS - 1] {
        assert!(
            decrypted.contains(&format!("charge {i}\nsecond line")),
            "event {i} missing"
        );
    }
    assert_eq!(decrypted.matches("erin@example.com").count(), EVENTS);
    // rsyslog's header (timestamp host tag) stays in front of each event.
    let first_event = BufReader::new(decrypted.as_bytes())
        .lines()
        .map(Result::unwrap)
        .find(|l| l.contains("charge 0"))
        .unwrap();
    assert!(
        first_event.contains("enclog-test billing["),
        "{first_event}"
    );

    // The other program's plain message is not authenticated: allowed here, as the file mixes
    // programs on purpose (without --allow-plain it is a `plain_line` finding).
    let out = super::enclog(&[
        "verify",
        "--allow-plain",
        "--key-file",
        &key_file,
        &out_path,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
