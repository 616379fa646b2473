//! SSM SecureString parameters through the secrets port.

use crate::moto;
use aws_sdk_ssm::types::ParameterType;
use nightshift_aws::SsmSecrets;
use nightshift_core::ports::{SecretError, Secrets};
use secrecy::ExposeSecret;

#[tokio::test]
async fn secure_strings_are_read_decrypted_cached_and_never_shown() {
    let client = aws_sdk_ssm::Client::new(&moto::config().await);
    let prefix = format!("/{}/", moto::unique("ns"));
    client
        .put_parameter()
        .name(format!("{prefix}github-token"))
        .value("ghp_notARealToken0123456789")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let s = SsmSecrets::new(client.clone(), prefix.clone());
    let v = s.get("github-token").await.unwrap();
    assert_eq!(v.expose_secret(), "ghp_notARealToken0123456789");
    assert!(!format!("{v:?}").contains("ghp_"), "Debug never shows it");
    // Cached for the life of the process: a change in SSM is not seen.
    client
        .put_parameter()
        .name(format!("{prefix}github-token"))
        .value("ghp_rotated")
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.get("github-token").await.unwrap().expose_secret(),
        "ghp_notARealToken0123456789"
    );
    // A missing one says where to put it.
    match s.get("slack-webhook").await {
        Err(SecretError::Missing { hint, .. }) => {
            assert!(hint.contains(&format!("{prefix}slack-webhook")), "{hint}")
        }
        other => panic!("{other:?}"),
    }
}
