//! `crm-desktop`: the field agent's app. All of it is in the library
//! (`crm_desktop`), so tests can reach the same code.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let config = crm_desktop::config::Config::parse();
    crm_desktop::run(config)
}
