//! HTTP/2 connections to schedulers, shared by the containers of one invoker.
//!
//! The stock invoker opens one connection per container. With hundreds of containers that is
//! hundreds of sockets, HTTP/2 states and buffers on both ends, each carrying one long poll at
//! a time; the scheduler then spends more CPU per activation than with a few busy connections.
//! Here containers multiplex their polls: a connection takes up to `STREAMS_PER_CONNECTION`
//! clients (below the usual server limit on concurrent streams), then another one is opened.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tonic::transport::Channel;

use crate::scheduler_client::{ClientError, SchedulerClient};

/// Clients per connection; HTTP/2 servers commonly allow 100 or more concurrent streams.
pub const STREAMS_PER_CONNECTION: usize = 64;

/// One open connection and the clients using it (the lease count minus this entry's own).
#[derive(Debug)]
struct Shared {
    channel: Channel,
    lease: Arc<()>,
}

impl Shared {
    fn users(&self) -> usize {
        Arc::strong_count(&self.lease) - 1
    }
}

/// The open connections by scheduler endpoint.
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<HashMap<(String, u16), Vec<Shared>>>,
}

impl Connections {
    /// A client to `host:port` on a connection with room, opening one if none has.
    pub async fn client(&self, host: &str, port: u16) -> Result<SchedulerClient, ClientError> {
        if let Some(client) = self.with_room(host, port) {
            return Ok(client);
        }
        let channel = SchedulerClient::open(host, port).await?;
        let lease = Arc::new(());
        let client = SchedulerClient::on(channel.clone(), host, port, Arc::clone(&lease));
        if let Ok(mut open) = self.open.lock() {
            let entry = open.entry((host.to_owned(), port)).or_default();
            entry.retain(|s| s.users() > 0);
            entry.push(Shared { channel, lease });
        }
        Ok(client)
    }

    fn with_room(&self, host: &str, port: u16) -> Option<SchedulerClient> {
        let mut open = self.open.lock().ok()?;
        let entry = open.get_mut(&(host.to_owned(), port))?;
        entry.retain(|s| s.users() > 0);
        let shared = entry
            .iter()
            .filter(|s| s.users() < STREAMS_PER_CONNECTION)
            .min_by_key(|s| s.users())?;
        Some(SchedulerClient::on(
            shared.channel.clone(),
            host,
            port,
            Arc::clone(&shared.lease),
        ))
    }

    /// Open connections to `host:port` and their client counts (for tests and logs).
    pub fn users(&self, host: &str, port: u16) -> Vec<usize> {
        self.open
            .lock()
            .ok()
            .and_then(|open| {
                open.get(&(host.to_owned(), port))
                    .map(|e| e.iter().map(Shared::users).collect())
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use ow_compat::grpc::{
        ActivationService, ActivationServiceServer, FetchRequest, FetchResponse,
        NO_ACTIVATION_MESSAGE, RescheduleRequest, RescheduleResponse,
    };
    use ow_compat::values::{DocRevision, EntityName, EntityPath, FullyQualifiedEntityName};
    use tokio::net::TcpListener;
    use tonic::{Request, Response, Status};

    use super::*;
    use crate::scheduler_client::{Fetched, QueueRef};

    /// A scheduler that holds each poll briefly, so the clients' polls overlap, then says
    /// there is no work.
    struct Quiet;

    #[tonic::async_trait]
    impl ActivationService for Quiet {
        async fn fetch_activation(
            &self,
            _: Request<FetchRequest>,
        ) -> Result<Response<FetchResponse>, Status> {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(Response::new(FetchResponse {
                activation_message: NO_ACTIVATION_MESSAGE.into(),
            }))
        }

        async fn reschedule_activation(
            &self,
            _: Request<RescheduleRequest>,
        ) -> Result<Response<RescheduleResponse>, Status> {
            Ok(Response::new(RescheduleResponse {
                is_rescheduled: false,
            }))
        }
    }

    /// Serves `Quiet` on a loopback port; returns the port and the count of accepted sockets.
    async fn serve() -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let incoming = futures::stream::unfold(listener, move |l| {
            let counter = Arc::clone(&counter);
            async move {
                let socket = l.accept().await.map(|(s, _)| s);
                counter.fetch_add(1, Ordering::SeqCst);
                Some((socket, l))
            }
        });
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(ActivationServiceServer::new(Quiet))
                .serve_with_incoming(incoming),
        );
        (port, accepted)
    }

    fn queue() -> QueueRef {
        QueueRef {
            invocation_namespace: "guest".into(),
            action: FullyQualifiedEntityName::new(
                EntityPath::parse("guest").expect("path"),
                EntityName::parse("hello").expect("name"),
            ),
            revision: DocRevision::new("1-abc"),
        }
    }

    #[tokio::test]
    async fn containers_share_a_connection_until_it_is_full_and_it_closes_with_the_last() {
        let (port, accepted) = serve().await;
        let connections = Connections::default();
        let mut clients = Vec::new();
        for _ in 0..2 * STREAMS_PER_CONNECTION + 2 {
            clients.push(connections.client("127.0.0.1", port).await.expect("client"));
        }
        let q = queue();
        let ids: Vec<String> = (0..clients.len()).map(|i| format!("c{i}")).collect();
        let polls = clients
            .iter_mut()
            .zip(&ids)
            .map(|(c, id)| c.fetch(&q, id, true, None, true));
        for answer in futures::future::join_all(polls).await {
            assert_eq!(answer.expect("fetch"), Fetched::NoActivation);
        }
        let mut users = connections.users("127.0.0.1", port);
        users.sort_unstable();
        assert_eq!(users, [2, STREAMS_PER_CONNECTION, STREAMS_PER_CONNECTION]);
        assert_eq!(accepted.load(Ordering::SeqCst), 3);

        drop(clients);
        let mut last = connections.client("127.0.0.1", port).await.expect("client");
        assert_eq!(connections.users("127.0.0.1", port), [1]);
        assert_eq!(
            last.fetch(&q, "after", true, None, true)
                .await
                .expect("fetch"),
            Fetched::NoActivation
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }
}
