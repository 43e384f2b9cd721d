//! `sockhub tls self-signed`: a small certificate authority of one's own, for a class or a lab.
//!
//! It writes a CA (`ca.pem`, `ca-key.pem`) and a server certificate signed by it
//! (`server.pem`, `server-key.pem`) for the names and addresses given, and prints what goes in
//! `[tls]` and what to hand to the clients (`ca.pem`, and only that). Run again in the same
//! directory, it keeps the CA and issues new certificates with it, so clients that trust the CA
//! need nothing new; `--client NAME` also issues a client certificate (`NAME.pem`,
//! `NAME-key.pem`) for mutual TLS between relays. Private keys are written readable by their
//! owner only.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};
use sockhub_i18n::t;

/// The common name of every CA this command makes.
const CA_NAME: &str = "sockhub CA";

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a CA and a server certificate signed by it (reusing the CA found in --out).
    SelfSigned(SelfSignedArgs),
}

#[derive(Debug, Args)]
pub struct SelfSignedArgs {
    /// A DNS name clients use to reach the server (repeat for several).
    #[arg(long, value_name = "NAME", required_unless_present = "client")]
    host: Vec<String>,
    /// An IP address clients use to reach the server (repeat for several).
    #[arg(long, value_name = "ADDR")]
    ip: Vec<IpAddr>,
    /// Also issue a client certificate with this name (mutual TLS: a Server1 shows it to its
    /// Server2, whose [tls] client_ca is this CA).
    #[arg(long, value_name = "NAME")]
    client: Option<String>,
    /// Where to write the files.
    #[arg(long, value_name = "DIR", default_value = "sockhub-tls")]
    out: PathBuf,
    /// How long the certificates are valid.
    #[arg(long, default_value_t = 365)]
    days: u32,
}

pub fn run(command: TlsCommand) -> anyhow::Result<ExitCode> {
    match command {
        TlsCommand::SelfSigned(args) => self_signed(args),
    }
}

fn self_signed(args: SelfSignedArgs) -> anyhow::Result<ExitCode> {
    if args.days == 0 {
        bail!(t!("cli-tls-days"));
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| t!("cli-creating", path = args.out.display().to_string()))?;
    let (ca_cert, ca_key) = (args.out.join("ca.pem"), args.out.join("ca-key.pem"));
    // The CA's name is fixed, so that a CA found in --out can sign again from its key alone: a
    // certificate names its issuer by that name (and by the key's identifier).
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name(CA_NAME);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let new_ca = !(ca_cert.exists() && ca_key.exists());
    let key = if new_ca {
        let key = KeyPair::generate()?;
        validity(&mut ca_params, args.days.saturating_mul(10));
        let cert = ca_params.self_signed(&key)?;
        write(&ca_cert, &cert.pem(), false)?;
        write(&ca_key, &key.serialize_pem(), true)?;
        key
    } else {
        KeyPair::from_pem(&read(&ca_key)?)
            .with_context(|| t!("cli-reading", path = ca_key.display().to_string()))?
    };
    let issuer = Issuer::new(ca_params, key);

    let mut written = Vec::new();
    if !args.host.is_empty() || !args.ip.is_empty() {
        let mut sans = Vec::new();
        for host in &args.host {
            sans.push(SanType::DnsName(
                host.as_str().try_into().with_context(|| format!("--host {host:?}"))?,
            ));
        }
        sans.extend(args.ip.iter().map(|ip| SanType::IpAddress(*ip)));
        let first = args.host.first().cloned().unwrap_or_else(|| args.ip[0].to_string());
        let (cert, key) = (args.out.join("server.pem"), args.out.join("server-key.pem"));
        issue(&issuer, &first, sans, ExtendedKeyUsagePurpose::ServerAuth, args.days, &cert, &key)?;
        written.push((cert, key));
    }
    if let Some(client) = &args.client {
        let san =
            SanType::DnsName(client.as_str().try_into().with_context(|| format!("--client {client:?}"))?);
        let (cert, key) =
            (args.out.join(format!("{client}.pem")), args.out.join(format!("{client}-key.pem")));
        issue(&issuer, client, vec![san], ExtendedKeyUsagePurpose::ClientAuth, args.days, &cert, &key)?;
        written.push((cert, key));
    }

    let dir = args.out.display().to_string();
    let ca = ca_cert.display().to_string();
    if new_ca {
        println!("{}", t!("cli-tls-new-ca", ca = &ca, key = ca_key.display().to_string()));
    } else {
        println!("{}", t!("cli-tls-used-ca", dir = &dir, ca = &ca));
    }
    for (cert, key) in &written {
        println!(
            "{}",
            t!("cli-tls-wrote", cert = cert.display().to_string(), key = key.display().to_string())
        );
    }
    if !args.host.is_empty() || !args.ip.is_empty() {
        let host = args.host.first().cloned().unwrap_or_else(|| args.ip[0].to_string());
        println!(
            "\n{}\n\n[tls]\ncert = \"{dir}/server.pem\"\nkey = \"{dir}/server-key.pem\"\n{}\n\n{}\n\
             \x20 sockhub chat --addr {host}:7101 --tls --ca ca.pem --name NAME\n\
             \x20 openssl s_client -connect {host}:7101 -CAfile ca.pem\n\
             \x20 curl --cacert ca.pem https://{host}:8443/healthz\n{}",
            t!("cli-tls-in-config"),
            t!("cli-tls-port-comment"),
            t!("cli-tls-hand-ca", ca = &ca, dir = &dir),
            t!("cli-tls-browsers"),
        );
    }
    if let Some(client) = &args.client {
        let settings = format!("[tls] client_ca = \"{dir}/ca.pem\", require_client_cert = true");
        println!(
            "\n{}\n\n[relay]\ndownstream_tls = true\n\
             downstream_ca = \"{dir}/ca.pem\"\nclient_cert = \"{dir}/{client}.pem\"\nclient_key = \"{dir}/{client}-key.pem\"\n\n{}",
            t!("cli-tls-mutual"),
            t!("cli-tls-downstream", settings = settings),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Sign a certificate for `common_name` with `issuer` and write it and its new key.
fn issue(
    issuer: &Issuer<'_, KeyPair>,
    common_name: &str,
    sans: Vec<SanType>,
    usage: ExtendedKeyUsagePurpose,
    days: u32,
    cert_path: &Path,
    key_path: &Path,
) -> anyhow::Result<()> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.subject_alt_names = sans;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, days);
    let cert = params.signed_by(&key, issuer)?;
    write(cert_path, &cert.pem(), false)?;
    write(key_path, &key.serialize_pem(), true)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Valid from a day ago (clocks differ) for `days` days.
fn validity(params: &mut CertificateParams, days: u32) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(days));
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| t!("cli-reading", path = path.display().to_string()))
}

/// Write atomically (a temporary file renamed into place), so a server watching the files
/// never reads half of one; keys readable by their owner only.
fn write(path: &Path, contents: &str, private: bool) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mode = if private { 0o600 } else { 0o644 };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| t!("cli-writing", path = tmp.display().to_string()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| t!("cli-writing", path = path.display().to_string()))
}
