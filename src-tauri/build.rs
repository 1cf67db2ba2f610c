//! Tauri's build step: reads tauri.conf.json and the capabilities, and
//! checks that the UI's built files (`ui/dist`) are there to embed.

fn main() {
    tauri_build::build();
}
