//! Client certificates (`sslcert`/`sslkey`, parse-server's `cert`/`key`, `databaseOptions.ssl`)
//! against a throwaway PostgreSQL cluster that admits clients by certificate only
//! (`hostssl … cert`), with an authority, a server and a client certificate of its own made by
//! the `openssl` command.
//!
//! Needs PostgreSQL's server programs (`initdb`, `pg_ctl`: on the PATH or in Debian's
//! `/usr/lib/postgresql/<version>/bin`), `openssl`, and, run as root, the `postgres` user to own
//! the cluster; skipped without them, except under `CI=true`, where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use reparse_storage_postgres::{PostgresDatabase, PostgresOptions};
use serde_json::json;

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command.output().map_err(|error| format!("{shown}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// Where a PostgreSQL server program is: on the PATH, else in Debian's
/// `/usr/lib/postgresql/<version>/bin` (the newest), which is not on the PATH by default.
fn postgres_program(name: &str) -> Option<PathBuf> {
    let on_path = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().ok()?;
    if on_path.status.success() {
        return Some(PathBuf::from(String::from_utf8_lossy(&on_path.stdout).trim()));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let program = entry.path().join("bin").join(name);
            program.exists().then_some((version, program))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, program)| program)
}

/// A PostgreSQL server program, as the `postgres` user when this runs as root (initdb refuses
/// root).
fn postgres_command(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A cluster stopped (immediately) with the guard.
struct Cluster {
    pg_ctl: PathBuf,
    data: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = postgres_command(&self.pg_ctl)
            .args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An authority, a server certificate for `localhost` and a client certificate for user
/// `postgres`, in `dir`.
fn make_certificates(dir: &Path) -> Result<(), String> {
    let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|error| error.to_string())?;
    std::fs::write(dir.join("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        .map_err(|error| error.to_string())?;
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=reparse test authority",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    for (name, subject) in [("server", "/CN=localhost"), ("client", "/CN=postgres")] {
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            subject,
        ])?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ])?;
    }
    Ok(())
}

fn start_cluster() -> Result<Cluster, String> {
    let initdb = postgres_program("initdb").ok_or("initdb is not installed")?;
    let pg_ctl = postgres_program("pg_ctl").ok_or("pg_ctl is not installed")?;
    if Command::new("openssl").arg("version").output().is_err() {
        return Err("openssl is not installed".into());
    }
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    make_certificates(dir.path())?;
    let data = dir.path().join("data");
    std::fs::create_dir(&data).map_err(|error| error.to_string())?;
    if is_root() {
        run(Command::new("chmod").arg("755").arg(dir.path()))?;
        run(Command::new("chown")
            .args(["postgres:postgres", "data", "server.key", "server.crt", "ca.crt"])
            .current_dir(dir.path()))?;
    }
    run(Command::new("chmod").arg("700").arg(&data))?;
    run(Command::new("chmod").arg("600").arg(dir.path().join("server.key")))?;
    run(postgres_command(&initdb).args(["-D"]).arg(&data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
    ]))?;
    let port = free_port();
    let settings = format!(
        "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{data}'\nssl = on\n\
         ssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\nssl_ca_file = '{dir}/ca.crt'\n",
        dir = dir.path().display(),
        data = data.display()
    );
    let configuration = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&configuration).map_err(|error| error.to_string())?;
    text.push_str(&settings);
    std::fs::write(&configuration, text).map_err(|error| error.to_string())?;
    std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 cert\n")
        .map_err(|error| error.to_string())?;
    run(postgres_command(&pg_ctl)
        .args(["-D"])
        .arg(&data)
        .args(["-l"])
        .arg(data.join("log"))
        .args(["-w", "start"]))
    .map_err(|error| format!("{error}\n{}", std::fs::read_to_string(data.join("log")).unwrap_or_default()))?;
    Ok(Cluster { pg_ctl, data, port, dir })
}

#[tokio::test]
async fn client_certificates_are_presented_when_given() {
    let cluster = match start_cluster() {
        Ok(cluster) => cluster,
        Err(reason) => {
            assert!(!on_ci(), "a throwaway PostgreSQL cluster is required on CI: {reason}");
            eprintln!("skipped: no throwaway PostgreSQL cluster ({reason})");
            return;
        }
    };
    let dir = cluster.dir.path().display().to_string();
    let base = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={dir}/ca.crt",
        cluster.port
    );
    let connect = |url: String| async move {
        let database = PostgresDatabase::connect(&PostgresOptions::from_url(&url).map_err(|e| e.message)?)
            .await
            .map_err(|error| error.message)?;
        database.summary().await.map_err(|error| error.message)
    };

    let error = connect(base.clone()).await.expect_err("the cluster admits certificates only");
    assert!(error.contains("certificate"), "{error}");
    let summary = connect(format!("{base}&sslcert={dir}/client.crt&sslkey={dir}/client.key")).await.unwrap();
    assert!(summary.tls_version.is_some());
    // parse-server's names for the same files.
    let parse_server_style = format!(
        "postgres://postgres@localhost:{}/postgres?ca={dir}/ca.crt&cert={dir}/client.crt&key={dir}/client.key",
        cluster.port
    );
    assert!(connect(parse_server_style).await.unwrap().tls_version.is_some());

    // databaseOptions.ssl with PEM text.
    let read = |name: &str| std::fs::read_to_string(cluster.dir.path().join(name)).unwrap();
    let mut options =
        PostgresOptions::from_url(&format!("postgres://postgres@localhost:{}/postgres", cluster.port))
            .unwrap();
    options
        .apply_database_options(
            json!({"ssl": {"ca": read("ca.crt"), "cert": read("client.crt"), "key": read("client.key")}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let database = PostgresDatabase::connect(&options).await.unwrap();
    assert!(database.summary().await.unwrap().tls_version.is_some());
}
