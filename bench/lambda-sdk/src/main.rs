//! DynamoDB and SQS clients from aws_config, built in init (with the HTTPS
//! client the functions use: rustls on ring).

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cfg = nightshift_aws::sdk_loader().load().await;
    let (ddb, sqs) = (
        aws_sdk_dynamodb::Client::new(&cfg),
        aws_sdk_sqs::Client::new(&cfg),
    );
    run(service_fn(|e: LambdaEvent<serde_json::Value>| {
        let (_ddb, _sqs) = (ddb.clone(), sqs.clone());
        async move { Ok::<_, Error>(serde_json::json!({ "hello": e.payload })) }
    }))
    .await
}
