//! TLS failures said in words an admin can act on: which certificate the server presented
//! (issuer, names, expiry), why it is not trusted, and the setting that fixes it (`ca_file`,
//! `tls_pin_sha256`, the host name in `url`), instead of rustls's "invalid peer certificate:
//! UnknownIssuer".

use sha2::{Digest, Sha256};

/// What was wrong with the TLS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProblem {
    /// Signed by no authority we trust (a private CA, a self-signed certificate).
    UnknownIssuer,
    /// A self-signed CA certificate (CA:TRUE) presented as the server's own.
    CaAsServer,
    /// Valid, but not for the host name we connected to.
    WrongName,
    Expired,
    NotYetValid,
    /// The server does not speak TLS on this port (it sent plain text).
    NotTls,
    Other(String),
}

/// The TLS problem behind a lettre error, if it is one.
pub fn problem(e: &lettre::transport::smtp::Error) -> Option<CertProblem> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let found = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(r) = found {
            return Some(of_rustls(r));
        }
        source = s.source();
    }
    // lettre's own TLS errors carry rustls's text only.
    let text = format!("{e:?}");
    if e.is_tls() || text.contains("InvalidCertificate") {
        Some(CertProblem::Other(e.to_string()))
    } else {
        None
    }
}

fn of_rustls(e: &rustls::Error) -> CertProblem {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => CertProblem::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => CertProblem::WrongName,
            C::Expired | C::ExpiredContext { .. } => CertProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => CertProblem::NotYetValid,
            other => {
                let text = format!("{other:?}");
                if text.contains("CaUsedAsEndEntity") {
                    CertProblem::CaAsServer
                } else {
                    CertProblem::Other(format!("chứng chỉ không hợp lệ ({text})"))
                }
            }
        },
        rustls::Error::InvalidMessage(_) => CertProblem::NotTls,
        other => CertProblem::Other(other.to_string()),
    }
}

/// SHA-256 of a certificate's DER, lowercase hex (what `tls_pin_sha256` holds).
pub fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a certificate says of itself, for an error message.
struct Described {
    subject: String,
    issuer: String,
    names: Vec<String>,
    not_after: String,
    not_before: String,
    self_signed_ca: bool,
    sha256: String,
}

fn describe(der: &[u8]) -> Option<Described> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = |name: &x509_parser::x509::X509Name| {
        name.iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok())
            .map_or_else(|| name.to_string(), str::to_string)
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push((*d).to_string()),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => {
                        names.push(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string())
                    }
                    16 => {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(ip);
                        names.push(std::net::Ipv6Addr::from(b).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    if names.is_empty() {
        names.push(cn(cert.subject()));
    }
    let date = |t: &x509_parser::time::ASN1Time| {
        let d = t.to_datetime();
        format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
    };
    Some(Described {
        subject: cn(cert.subject()),
        issuer: cn(cert.issuer()),
        names,
        not_after: date(&cert.validity().not_after),
        not_before: date(&cert.validity().not_before),
        self_signed_ca: cert.is_ca() && cert.subject() == cert.issuer(),
        sha256: sha256_hex(der),
    })
}

/// The admin's message for `problem` with the server at `server` (host:port), from the
/// certificate it presented when that could be fetched.
pub fn explain(problem: &CertProblem, server: &str, leaf: Option<&[u8]>) -> String {
    let cert = leaf.and_then(describe);
    let head = format!("không tin được chứng chỉ TLS của máy chủ thư {server}");
    let pin_hint = |c: &Described| {
        format!(
            "nếu quản trị máy chủ thư xác nhận đây đúng là chứng chỉ của máy chủ, đặt [email] tls_pin_sha256 = \"{}\"",
            c.sha256
        )
    };
    match (problem, &cert) {
        (CertProblem::UnknownIssuer | CertProblem::CaAsServer, Some(c)) if c.self_signed_ca => {
            format!(
                "{head}: chứng chỉ tự ký \"{}\" (CA:TRUE), không do tổ chức nào hệ thống tin cậy cấp, và không thể dùng làm chứng chỉ máy chủ kể cả khi đặt trong ca_file; {}",
                c.subject,
                pin_hint(c)
            )
        }
        (CertProblem::UnknownIssuer, Some(c)) if c.subject == c.issuer => format!(
            "{head}: chứng chỉ tự ký \"{}\"; đặt [email] ca_file = \"đường dẫn tệp PEM của chứng chỉ này\", hoặc {}",
            c.subject,
            pin_hint(c)
        ),
        (CertProblem::UnknownIssuer, Some(c)) => format!(
            "{head}: chứng chỉ do \"{}\" cấp, không thuộc các tổ chức cấp chứng chỉ hệ thống tin cậy; xin quản trị máy chủ thư tệp chứng chỉ CA (PEM) rồi đặt [email] ca_file = \"đường dẫn tệp đó\"",
            c.issuer
        ),
        (CertProblem::UnknownIssuer, None) => format!(
            "{head}: chứng chỉ do tổ chức không được tin cậy cấp; đặt [email] ca_file = \"tệp PEM của CA\""
        ),
        (CertProblem::CaAsServer, _) => format!(
            "{head}: máy chủ dùng chứng chỉ CA (CA:TRUE) làm chứng chỉ của chính nó; dùng [email] tls_pin_sha256"
        ),
        (CertProblem::WrongName, Some(c)) => format!(
            "{head}: chứng chỉ cấp cho {}, không có tên \"{}\" dùng trong url; dùng đúng một tên của chứng chỉ trong url (ví dụ \"{}\"), hoặc xin quản trị máy chủ thư chứng chỉ có tên này",
            c.names.join(", "),
            server.rsplit_once(':').map_or(server, |(h, _)| h),
            c.names.first().map(String::as_str).unwrap_or("")
        ),
        (CertProblem::WrongName, None) => {
            format!("{head}: chứng chỉ không cấp cho tên máy trong url")
        }
        (CertProblem::Expired, Some(c)) => format!(
            "{head}: chứng chỉ đã hết hạn ngày {}; báo quản trị máy chủ thư gia hạn chứng chỉ (thư vẫn chờ gửi)",
            c.not_after
        ),
        (CertProblem::Expired, None) => format!(
            "{head}: chứng chỉ đã hết hạn; báo quản trị máy chủ thư gia hạn (thư vẫn chờ gửi)"
        ),
        (CertProblem::NotYetValid, Some(c)) => format!(
            "{head}: chứng chỉ chỉ có hiệu lực từ ngày {}; kiểm tra đồng hồ của máy này và của máy chủ thư",
            c.not_before
        ),
        (CertProblem::NotYetValid, None) => {
            format!("{head}: chứng chỉ chưa có hiệu lực; kiểm tra đồng hồ của máy này")
        }
        (CertProblem::NotTls, _) => format!(
            "máy chủ {server} không trả lời bằng TLS ở cổng này: kiểm tra url (smtp:// cho cổng 587 STARTTLS, smtps:// cho cổng 465)"
        ),
        (CertProblem::Other(why), _) => format!("lỗi TLS với máy chủ thư {server}: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_server_and_the_fix_even_without_the_certificate() {
        let m = explain(&CertProblem::UnknownIssuer, "mail.example.org:587", None);
        assert!(
            m.contains("mail.example.org:587") && m.contains("ca_file"),
            "{m}"
        );
        let m = explain(&CertProblem::NotTls, "h:465", None);
        assert!(m.contains("smtps://"), "{m}");
        assert_eq!(sha256_hex(b"").len(), 64);
        assert!(describe(b"not a certificate").is_none());
    }
}
