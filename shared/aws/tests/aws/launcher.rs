//! The launcher contract on ECS Fargate (moto). moto runs no containers: a
//! task moves RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED
//! (exit code 0) as it is described, so every job here is a "quick" one that
//! is seen running first; its state manager is set to advance a task one
//! step per two describes, so `Running` is observed before the end.

use crate::moto;
use nightshift_aws::{EcsConfig, EcsLauncher};
use nightshift_contract::LauncherFixture;
use std::sync::Arc;

/// One EC2 Query API call (moto accepts it unsigned); the value of `tag`.
async fn ec2(params: &[(&str, &str)], tag: &str) -> String {
    let body = reqwest::Client::new()
        .post(moto::endpoint())
        .form(&[params, &[("Version", "2016-11-15")]].concat())
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open = format!("<{tag}>");
    let at = body
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {body}"))
        + open.len();
    body[at..at + body[at..].find('<').unwrap()].to_string()
}

async fn make() -> LauncherFixture {
    let cfg = moto::config().await;
    let vpc = ec2(
        &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")],
        "vpcId",
    )
    .await;
    ec2(
        &[
            ("Action", "ModifyVpcAttribute"),
            ("VpcId", &vpc),
            ("EnableDnsHostnames.Value", "true"),
        ],
        "requestId",
    )
    .await;
    let subnet = ec2(
        &[
            ("Action", "CreateSubnet"),
            ("VpcId", &vpc),
            ("CidrBlock", "10.0.1.0/24"),
        ],
        "subnetId",
    )
    .await;
    let sg_name = moto::unique("worker");
    let sg = ec2(
        &[
            ("Action", "CreateSecurityGroup"),
            ("GroupName", &sg_name),
            ("GroupDescription", "worker egress"),
            ("VpcId", &vpc),
        ],
        "groupId",
    )
    .await;
    let r = reqwest::Client::new()
        .post(format!("{}/moto-api/state-manager/set-transition", moto::endpoint()))
        .json(&serde_json::json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 2}}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "moto's state manager: {}",
        r.status()
    );
    let ecs_cfg = aws_sdk_ecs::config::Builder::from(&cfg)
        .endpoint_url(ecs_proxy().await)
        .build();
    let client = aws_sdk_ecs::Client::from_conf(ecs_cfg);
    let cluster = moto::unique("nightshift");
    client
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let family = moto::unique("worker");
    client
        .register_task_definition()
        .family(&family)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("worker")
                .image("nightshift-worker:test")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let launcher = EcsLauncher::new(
        client,
        EcsConfig {
            cluster,
            task_definition: family,
            container: "worker".into(),
            subnets: vec![subnet],
            security_groups: vec![sg],
            assign_public_ip: false,
        },
    );
    LauncherFixture {
        launcher: Arc::new(launcher),
        guard: Box::new(()),
    }
}

nightshift_contract::launcher_contract!(make);

/// moto writes a task's containers' `cpu` and `memory` as JSON numbers where
/// the ECS API (and so the SDK's parser) has strings. This loopback proxy in
/// front of moto turns them into strings. Test-only: real ECS is right.
async fn ecs_proxy() -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    async fn forward(headers: HeaderMap, body: Bytes) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = reqwest::Client::new().post(moto::endpoint()).body(body);
        for (k, v) in headers
            .iter()
            .filter(|(k, _)| *k != "host" && *k != "content-length")
        {
            req = req.header(k, v);
        }
        let r = req.send().await.unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        let mut out = HeaderMap::new();
        if let Some(ct) = r.headers().get("content-type") {
            out.insert("content-type", ct.to_str().unwrap().parse().unwrap());
        }
        let bytes = r.bytes().await.unwrap();
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return (status, out, bytes.to_vec());
        };
        let mut tasks: Vec<&mut serde_json::Value> = Vec::new();
        let v_obj = v.as_object_mut().unwrap();
        for (k, val) in v_obj.iter_mut() {
            match k.as_str() {
                "tasks" => tasks.extend(val.as_array_mut().into_iter().flatten()),
                "task" => tasks.push(val),
                _ => {}
            }
        }
        for t in tasks {
            for c in t["containers"].as_array_mut().into_iter().flatten() {
                for k in ["cpu", "memory", "memoryReservation"] {
                    if let Some(n) = c[k].as_i64() {
                        c[k] = serde_json::Value::String(n.to_string());
                    }
                }
            }
        }
        (status, out, serde_json::to_vec(&v).unwrap())
    }
    let app = axum::Router::new().route("/", axum::routing::post(forward));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}
