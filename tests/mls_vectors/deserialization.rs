//! `deserialization.json`.

use super::*;

#[derive(Deserialize)]
struct DeserializationCase {
    vlbytes_header: Hex,
    length: u32,
}

#[test]
fn deserialization_vectors() {
    use aura::crypto::codec::{Reader, Writer};

    let cases: Vec<DeserializationCase> = load("deserialization.json");
    run_cases("deserialization.json", &cases, |case| {
        let mut reader = Reader::new(&case.vlbytes_header);
        let length = check("read header", reader.read_varint())?;
        if length != case.length || !reader.is_empty() {
            return Err(format!("decoded {length}, expected {}", case.length));
        }
        let mut writer = Writer::new();
        check("write header", writer.write_varint(case.length as usize))?;
        expect_eq("encoded header", writer.as_bytes(), &case.vlbytes_header)
    });
}
