//! `GET /openapi.json`: the whole HTTP API, generated from the handlers'
//! annotations and the Rust types, so it cannot drift from the code.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;
use crate::{accounts, error, health, storage, sync};

#[derive(OpenApi)]
#[openapi(
    info(title = "CRM sync server", description = "Accounts, the sync protocol and attachment files of the offline-first CRM."),
    paths(
        health::health,
        accounts::signup, accounts::login, accounts::refresh, accounts::logout, accounts::me, accounts::colleagues,
        sync::push::push, sync::pull::pull, sync::live::events,
        storage::http::upload, storage::http::download, storage::http::remove, storage::http::sign,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document spells each enum as the server sends it (`agent`, not
    /// `Agent`), so a client generated from it can read the answers.
    #[test]
    fn enums_are_documented_with_their_wire_names() {
        let api = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let schemas = &api["components"]["schemas"];
        let documented = |name: &str| -> Vec<String> {
            schemas[name]["enum"]
                .as_array()
                .map(|values| {
                    values
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        use crm_domain::*;
        let enums: [(&str, &[&str]); 7] = [
            ("UserRole", &UserRole::WIRE_NAMES),
            ("CustomerStatus", &CustomerStatus::WIRE_NAMES),
            ("AcquisitionStage", &AcquisitionStage::WIRE_NAMES),
            ("InteractionChannel", &InteractionChannel::WIRE_NAMES),
            ("TicketPriority", &TicketPriority::WIRE_NAMES),
            ("TicketStatus", &TicketStatus::WIRE_NAMES),
            ("IntegrationPermission", &IntegrationPermission::WIRE_NAMES),
        ];
        let mut checked = 0;
        for (name, wire) in enums {
            if schemas.get(name).is_none() {
                continue;
            }
            assert_eq!(documented(name), wire.to_vec(), "{name}: {}", schemas[name]);
            checked += 1;
        }
        assert!(checked >= 1, "the accounts' role at least is documented");
    }
}
