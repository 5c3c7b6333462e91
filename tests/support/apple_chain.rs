//! A test certificate chain for Apple Wallet passes, made with the `openssl` command:
//! a root CA, a "WWDR" intermediate it issued, and a Pass Type ID certificate.

use std::path::Path;
use std::process::Command;

use stampd::config::AppleSettings;

pub const PASS_TYPE_ID: &str = "pass.com.example.stampd";
pub const TEAM_ID: &str = "TEAM123456";

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command runs");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
pub fn rsa_key(dir: &Path, file: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            file,
        ],
    );
}
/// A test root CA, a "WWDR" intermediate it issued, and a Pass Type ID certificate
/// the intermediate issued. The pass key is written in PKCS#1 form and the
/// intermediate as DER, as exports from Keychain and Apple's download come.
pub fn apple_chain(dir: &Path) -> AppleSettings {
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
    )
    .unwrap();
    for key in ["root.key", "wwdr.key", "pass.key"] {
        rsa_key(dir, key);
    }
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "3",
            "-subj",
            "/CN=stampd Test Root CA/O=stampd tests",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "wwdr.key",
            "-out",
            "wwdr.csr",
            "-subj",
            "/CN=stampd Test WWDR/OU=G4/O=stampd tests/C=US",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "wwdr.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "2",
            "-days",
            "3",
            "-extfile",
            "ca.ext",
            "-out",
            "wwdr.pem",
        ],
    );
    let subject = format!(
        "/UID={PASS_TYPE_ID}/CN=Pass Type ID: {PASS_TYPE_ID}/OU={TEAM_ID}/O=stampd tests/C=US"
    );
    openssl(
        dir,
        &[
            "req", "-new", "-key", "pass.key", "-out", "pass.csr", "-subj", &subject,
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "pass.csr",
            "-CA",
            "wwdr.pem",
            "-CAkey",
            "wwdr.key",
            "-set_serial",
            "3",
            "-days",
            "3",
            "-extfile",
            "leaf.ext",
            "-out",
            "pass.pem",
        ],
    );
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "pass.key",
            "-traditional",
            "-out",
            "pass.rsa.key",
        ],
    );
    openssl(
        dir,
        &[
            "x509", "-in", "wwdr.pem", "-outform", "DER", "-out", "wwdr.cer",
        ],
    );
    AppleSettings {
        pass_type_id: PASS_TYPE_ID.into(),
        team_id: TEAM_ID.into(),
        certificate: dir.join("pass.pem"),
        private_key: dir.join("pass.rsa.key"),
        wwdr_certificate: dir.join("wwdr.cer"),
    }
}
