//! A simulated desktop client for the sync tests: an account's session, an
//! install id, an outbox numbering its mutations gap-free, and an in-memory
//! replica that pulls apply to.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crm_domain::protocol::{
    Change, FieldChange, Mutation, MutationOp, PROTOCOL_VERSION, PullRequest, PullResponse,
    PushRequest, PushResponse, SyncTable,
};
use reqwest::Response;
use serde_json::Value;
use uuid::Uuid;

use super::server::TestServer;

pub struct SimClient<'s> {
    pub server: &'s TestServer,
    pub user_id: Uuid,
    pub token: String,
    pub client_id: Uuid,
    next_seq: std::cell::Cell<i64>,
    /// The client's replica: (table, id) -> row as last pulled.
    pub replica: HashMap<(String, Uuid), Value>,
    pub cursor: Option<String>,
}

impl<'s> SimClient<'s> {
    pub async fn sign_in(server: &'s TestServer, email: &str) -> SimClient<'s> {
        let session = server.login(email).await;
        SimClient {
            server,
            user_id: session["user"]["id"].as_str().unwrap().parse().unwrap(),
            token: session["access_token"].as_str().unwrap().to_owned(),
            client_id: Uuid::now_v7(),
            next_seq: std::cell::Cell::new(1),
            replica: HashMap::new(),
            cursor: None,
        }
    }

    fn next(
        &self,
        table: SyncTable,
        row_id: Uuid,
        op: MutationOp,
        edited_at: DateTime<Utc>,
    ) -> Mutation {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        Mutation {
            seq,
            table,
            row_id,
            op,
            edited_at,
        }
    }

    pub fn insert(&self, table: SyncTable, row_id: Uuid, values: Value) -> Mutation {
        let values = values.as_object().unwrap().clone().into_iter().collect();
        self.next(table, row_id, MutationOp::Insert { values }, Utc::now())
    }

    /// An update of `(field, base, value)` triples, edited at `edited_at`.
    pub fn update_at(
        &self,
        table: SyncTable,
        row_id: Uuid,
        fields: &[(&str, Value, Value)],
        edited_at: DateTime<Utc>,
    ) -> Mutation {
        let changes = fields
            .iter()
            .map(|(f, base, value)| {
                (
                    (*f).to_owned(),
                    FieldChange {
                        base: base.clone(),
                        value: value.clone(),
                    },
                )
            })
            .collect();
        self.next(table, row_id, MutationOp::Update { changes }, edited_at)
    }

    pub fn update(
        &self,
        table: SyncTable,
        row_id: Uuid,
        fields: &[(&str, Value, Value)],
    ) -> Mutation {
        self.update_at(table, row_id, fields, Utc::now())
    }

    pub fn delete(&self, table: SyncTable, row_id: Uuid) -> Mutation {
        self.next(table, row_id, MutationOp::Delete, Utc::now())
    }

    pub fn request(&self, mutations: &[Mutation]) -> PushRequest {
        PushRequest {
            protocol_version: PROTOCOL_VERSION,
            client_id: self.client_id,
            mutations: mutations.to_vec(),
        }
    }

    pub async fn push_raw(&self, body: &Value) -> Response {
        self.server
            .http
            .post(self.server.url("/sync/push"))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Pushes and expects the server to take the batch.
    pub async fn push(&self, mutations: &[Mutation]) -> PushResponse {
        let response = self
            .push_raw(&serde_json::to_value(self.request(mutations)).unwrap())
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "push refused: {status} {body}");
        serde_json::from_value(body).unwrap()
    }
}

impl SimClient<'_> {
    pub async fn pull_page(&self, cursor: Option<String>, checksums: bool) -> Response {
        let request = PullRequest {
            protocol_version: PROTOCOL_VERSION,
            client_id: self.client_id,
            cursor,
            checksums,
            refetch: Vec::new(),
        };
        self.server
            .http
            .post(self.server.url("/sync/pull"))
            .bearer_auth(&self.token)
            .json(&request)
            .send()
            .await
            .unwrap()
    }

    /// Pulls until caught up, applying every page to the replica; returns
    /// the last page.
    pub async fn pull(&mut self) -> PullResponse {
        loop {
            let response = self.pull_page(self.cursor.clone(), true).await;
            let status = response.status();
            let body = response.text().await.unwrap();
            assert!(status.is_success(), "pull refused: {status} {body}");
            // Rows arrive as raw JSON: parse from the text, not a tree.
            let page: PullResponse = serde_json::from_str(&body).unwrap();
            if page.reset {
                self.replica.clear();
                self.cursor = None;
                continue;
            }
            for change in &page.changes {
                match change {
                    Change::Upsert { table, row } => {
                        let row: Value = serde_json::from_str(row.get()).unwrap();
                        let id = row["id"].as_str().unwrap().parse().unwrap();
                        self.replica.insert((table.clone(), id), row);
                    }
                    Change::Remove { table, row_id } => {
                        self.replica.remove(&(table.clone(), *row_id));
                    }
                }
            }
            self.cursor = Some(page.cursor.clone());
            if !page.has_more {
                return page;
            }
        }
    }

    /// The ids the replica holds for `table`, sorted.
    pub fn held(&self, table: &str) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .replica
            .keys()
            .filter(|(t, _)| t == table)
            .map(|(_, id)| *id)
            .collect();
        ids.sort();
        ids
    }
}
