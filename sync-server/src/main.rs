//! `sync-server` binary. Until the sync-server issue lands it only applies
//! the central schema to the database named by `DATABASE_URL`.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("sync-server: set DATABASE_URL to the database to migrate");
        return ExitCode::from(2);
    };
    match sync_server::db::migrate(&url).await {
        Ok(()) => {
            eprintln!("sync-server: schema is up to date");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sync-server: {e}");
            ExitCode::FAILURE
        }
    }
}
