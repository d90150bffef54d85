//! A fake Active Directory LDAP server (built with `ldap3_proto`) for the answers a real
//! Samba DC will not give on demand: every bind sub-code, and search references before
//! every entry.
//!
//! A search whose filter names `sAMAccountName=<name>` finds `CN=<name>,CN=Users,`[`BASE_DN`]
//! (after a search reference, as AD sends them). Binding as that DN with [`RIGHT_PASSWORD`]
//! answers as the name says: `sub<code>` (e.g. `sub530`) fails with AD's sub-code `<code>`,
//! anything else succeeds. Any other password fails with sub-code 52e. The service account
//! [`SERVICE_DN`] / [`SERVICE_PASSWORD`] may bind.

use std::net::{Ipv4Addr, TcpListener};

use futures::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindResponse, LdapFilter, LdapMsg, LdapOp, LdapPartialAttribute, LdapResult,
    LdapResultCode, LdapSearchResultEntry, LdapSearchResultReference,
};
use tokio_util::codec::Framed;

/// The fake domain's root.
pub const BASE_DN: &str = "DC=fake,DC=test";
/// The fake domain's DNS name.
pub const DOMAIN: &str = "fake.test";
/// The service account's DN.
pub const SERVICE_DN: &str = "CN=svc,CN=Users,DC=fake,DC=test";
/// The service account's password.
pub const SERVICE_PASSWORD: &str = "svc-password";
/// The password every fake user has.
pub const RIGHT_PASSWORD: &str = "right-password";

/// A running fake server (plain LDAP on 127.0.0.1), serving until the process ends.
#[derive(Debug)]
pub struct FakeAd {
    port: u16,
}

impl FakeAd {
    /// Starts a server on a free port, on a thread of its own.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::spawn(move || runtime.block_on(serve(listener)));
        Ok(Self { port })
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }
}

async fn serve(listener: TcpListener) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut framed = Framed::new(stream, LdapCodec::default());
            while let Some(Ok(request)) = framed.next().await {
                for reply in answer(request) {
                    if framed.send(reply).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.to_owned(),
        referral: Vec::new(),
    }
}

fn reply(msgid: i32, op: LdapOp) -> LdapMsg {
    LdapMsg {
        msgid,
        op,
        ctrl: Vec::new(),
    }
}

fn answer(request: LdapMsg) -> Vec<LdapMsg> {
    let id = request.msgid;
    match request.op {
        LdapOp::BindRequest(bind) => {
            let LdapBindCred::Simple(password) = bind.cred else {
                return vec![reply(
                    id,
                    bind_response(LdapResultCode::AuthMethodNotSupported, ""),
                )];
            };
            let ok = (bind.dn == SERVICE_DN && password == SERVICE_PASSWORD)
                || (bind.dn.is_empty() && password.is_empty());
            if ok {
                return vec![reply(id, bind_response(LdapResultCode::Success, ""))];
            }
            let code = match (password == RIGHT_PASSWORD, subcode(&bind.dn)) {
                (true, None) => return vec![reply(id, bind_response(LdapResultCode::Success, ""))],
                (true, Some(code)) => code,
                (false, _) => "52e".to_owned(),
            };
            let text = format!(
                "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {code}, v1db1"
            );
            vec![reply(
                id,
                bind_response(LdapResultCode::InvalidCredentials, &text),
            )]
        }
        LdapOp::SearchRequest(search) => {
            let mut replies = vec![reply(
                id,
                LdapOp::SearchResultReference(LdapSearchResultReference {
                    uris: vec![format!("ldap://{DOMAIN}/CN=Configuration,{BASE_DN}")],
                }),
            )];
            if let Some(name) = sam_in(&search.filter) {
                let attribute = |atype: &str, value: &str| LdapPartialAttribute {
                    atype: atype.to_owned(),
                    vals: vec![value.as_bytes().to_vec()],
                };
                replies.push(reply(
                    id,
                    LdapOp::SearchResultEntry(LdapSearchResultEntry {
                        dn: format!("CN={name},CN=Users,{BASE_DN}"),
                        attributes: vec![
                            attribute("sAMAccountName", &name),
                            attribute("userAccountControl", "512"),
                            attribute("displayName", &format!("Fake {name}")),
                        ],
                    }),
                ));
            }
            replies.push(reply(
                id,
                LdapOp::SearchResultDone(result(LdapResultCode::Success, "")),
            ));
            replies
        }
        _ => Vec::new(),
    }
}

fn bind_response(code: LdapResultCode, message: &str) -> LdapOp {
    LdapOp::BindResponse(LdapBindResponse {
        res: result(code, message),
        saslcreds: None,
    })
}

/// `530` for `CN=sub530,...`.
fn subcode(dn: &str) -> Option<String> {
    let rest = dn.strip_prefix("CN=sub")?;
    Some(rest.chars().take_while(char::is_ascii_hexdigit).collect())
}

/// The value of the first `sAMAccountName=` equality in a filter.
fn sam_in(filter: &LdapFilter) -> Option<String> {
    match filter {
        LdapFilter::Equality(attribute, value)
            if attribute.eq_ignore_ascii_case("sAMAccountName") =>
        {
            Some(value.clone())
        }
        LdapFilter::And(parts) | LdapFilter::Or(parts) => parts.iter().find_map(sam_in),
        _ => None,
    }
}
