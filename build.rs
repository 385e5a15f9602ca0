//! Link options for the binary only: no Rust flag changes, so no dependency is rebuilt.
//! Why, with figures: docs/PERFORMANCE.md "Idle memory".

use std::path::Path;

fn main() {
    let order = Path::new("build/hot-functions.txt");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if !linux_gnu {
        return;
    }
    // The binary is position-independent, so the loader relocates about 48,000 pointers at
    // start. As RELA entries they are a 1.1 MB table, read whole at every start and then
    // resident; packed (DT_RELR, glibc >= 2.36) they take 20 KB. Both lld and GNU ld (>= 2.38)
    // know the option.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // The functions a service runs (start, a pass, idle; scripts/hot-functions.py lists them)
    // placed together: the kernel maps 64 KB around every page of code touched (fault-around),
    // and scattered over 11 MB of text they made almost all of it resident. A name no longer in
    // the binary is skipped. lld only: the toolchain's default linker on x86_64 Linux since
    // Rust 1.90; not with a linker configured otherwise.
    let lld = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64")
        && std::env::var_os("RUSTC_LINKER").is_none()
        && rustc_minor().is_some_and(|m| m >= 90);
    if lld && std::env::var("PROFILE").as_deref() == Ok("release") && order.exists() {
        let path = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(order);
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            path.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// The minor version of the compiler building us ("rustc 1.95.0 (…)" → 95).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC")?;
    let out = std::process::Command::new(rustc).arg("-V").output().ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    version
        .split_whitespace()
        .nth(1)?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}
