//! The desktop app: a Tauri 2 shell over crm-desktop-core. It owns the
//! window and nothing else: the replica, sync, search, rules and reminders
//! are the core's. Modules:
//!
//! - [`config`]: flags and environment.
//! - [`lock`]: one app per data directory.
//! - [`state`]: the signed-in user's session, replica, engine, reminders.
//! - [`commands`]: what the window may call, by concept.
//! - [`events`]: what the app tells the window (sync status, "open this
//!   customer").
//! - [`bindings`]: the list of both, which also generates the UI's
//!   TypeScript types.

pub mod bindings;
pub mod commands;
pub mod config;
pub mod events;
pub mod lock;
pub mod state;

use tauri::Manager;

use crate::config::Config;
use crate::lock::DataDirLock;
use crate::state::AppState;

/// Runs the app until its window closes.
pub fn run(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .init();
    if !config.has_data_dir() {
        eprintln!(
            "crm-desktop: no home directory to keep your data in: give one with --data-dir (or CRM_DESKTOP_DATA_DIR)"
        );
        std::process::exit(2);
    }
    let lock = match DataDirLock::acquire(&config.data_dir) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("crm-desktop: {e}");
            std::process::exit(2);
        }
    };
    let bindings = bindings::builder();
    // The window's size and place live with the data directory, like the
    // last screen: two apps on two directories (an agent's and an admin's)
    // each keep their own. The plugin joins the name to its config
    // directory, and joining an absolute path yields that path.
    let mut window_state = tauri_plugin_window_state::Builder::default();
    if let Some(path) = config.data_dir.join("window-state.json").to_str() {
        window_state = window_state.with_filename(path);
    }
    let app = tauri::Builder::default()
        .plugin(window_state.build())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(bindings.invoke_handler())
        .manage(AppState::new(config))
        .setup(move |app| {
            bindings.mount_events(app);
            #[cfg(target_os = "linux")]
            if let Some(window) = app.get_webview_window("main") {
                window.with_webview(|webview| {
                    use webkit2gtk::{SettingsExt, WebViewExt};
                    // Accelerated compositing keeps GL buffers the plain
                    // interface never needs: measured, the web process
                    // holds ~105 MB less without it (README, benchmarks).
                    if let Some(settings) = webview.inner().settings() {
                        settings.set_hardware_acceleration_policy(
                            webkit2gtk::HardwareAccelerationPolicy::Never,
                        );
                    }
                })?;
            }
            Ok(())
        })
        .build(tauri::generate_context!())?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Stop the engine cleanly: a page or push in flight either
            // commits whole or not at all, but stopping lets it finish.
            let state = handle.state::<AppState>();
            tauri::async_runtime::block_on(state.shut_down());
        }
    });
    drop(lock);
    Ok(())
}
