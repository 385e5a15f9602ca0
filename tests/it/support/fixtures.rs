//! The agencies of the small configs tests write inline: one level and four agencies, the
//! monitoring office first. Also included by the fuzz targets (`fuzz/fuzz_targets/`), so it
//! depends on nothing.

/// `agencies.toml`: Văn phòng UBND tỉnh (`vp`), Sở A, Sở B and Sở C (`a`, `b`, `c`), each with
/// one address at tinh.example.
pub const AGENCIES: &str = r#"
[[level]]
id = "tinh"
name = "cấp tỉnh"

[[agency]]
id = "vp"
name = "Văn phòng UBND tỉnh"
level = "tinh"
email = ["vp@tinh.example"]

[[agency]]
id = "a"
name = "Sở A"
level = "tinh"
email = ["a@tinh.example"]

[[agency]]
id = "b"
name = "Sở B"
level = "tinh"
email = ["b@tinh.example"]

[[agency]]
id = "c"
name = "Sở C"
level = "tinh"
email = ["c@tinh.example"]
"#;
