//! Against a real Samba AD domain controller: our lockout engages before the domain's, so
//! someone guessing passwords through the login never locks the account in the directory.

use std::sync::Arc;

use secrecy::SecretString;
use tfa_directory::{ActiveDirectory, ActiveDirectoryConfig, FirstFactor};
use tfa_flow::{DenyReason, Progress, UserMessage};
use tfa_test_support::samba::{self, SambaDc};

use crate::support::*;

#[tokio::test]
async fn guessing_through_the_login_never_reaches_the_domain_lockout() {
    let dc = SambaDc::shared();
    let config = ActiveDirectoryConfig::new(dc.ldaps_url(), samba::DOMAIN)
        .netbios_domain(samba::NETBIOS)
        .add_ca_file(dc.ca_file())
        .service_account(
            samba::SERVICE.upn(),
            SecretString::from(samba::SERVICE.password),
        );
    let directory = Arc::new(ActiveDirectory::new(config).unwrap());
    let mut policy = quick_policy();
    policy.lockout.directory_threshold = Some(samba::LOCKOUT_THRESHOLD);
    policy.lockout.password.per_user.threshold = samba::LOCKOUT_THRESHOLD - 2;
    let (auth, _, audit) = over(directory.clone(), policy);
    let user_name = samba::ALICE.sam;
    for _ in 0..(samba::LOCKOUT_THRESHOLD * 2) {
        let id = auth.begin(user_name, ip(9)).await.unwrap();
        let progress = auth
            .submit_password(id, secret("Wr0ng!guess"))
            .await
            .unwrap();
        assert_eq!(
            progress,
            Progress::Denied {
                message: UserMessage::LoginFailed
            }
        );
    }
    assert!(matches!(
        last_denial(&audit),
        DenyReason::PasswordStepLocked { .. }
    ));
    // The domain saw only our threshold's worth of bad binds: the account is not locked there.
    let identity = directory
        .verify(&user(user_name), &SecretString::from(samba::ALICE.password))
        .await;
    assert!(
        identity.is_ok(),
        "the domain locked the account: {identity:?}"
    );
}
