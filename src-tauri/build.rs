//! Generates the Tauri context (configuration, capabilities, icons) the binary embeds.

fn main() {
    tauri_build::build();
}
