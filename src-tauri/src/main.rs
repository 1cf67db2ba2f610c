//! The desktop app's Tauri shell: a placeholder. The desktop-core and
//! desktop-app issues turn it into the field agents' app.

fn main() {
    eprintln!("crm-desktop: the desktop app is not built yet; see ARCHITECTURE.md");
}
