//! Hostile documents, built in the test: PDFs whose drawings recurse or
//! explode, a CSV with a million columns, deeply nested JSON, and a DOCX
//! whose XML inflates a hundredfold. Each is small on the wire and costly
//! to a naive reader.

use super::fixtures::pdf_from_objects;

/// A one-page PDF whose page draws the form X0, and X0 draws itself.
pub fn self_drawing_pdf() -> Vec<u8> {
    let drawing = "/X0 Do";
    pdf_from_objects(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R \
         /Resources << /XObject << /X0 4 0 R >> >> >>"
            .into(),
        stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 612 792] \
             /Resources << /XObject << /X0 4 0 R >> >>",
            drawing,
        ),
        stream("", drawing),
    ])
}

/// A one-page PDF drawing `levels` nested forms, each drawing the next twice:
/// 2^levels drawings to run.
pub fn xobject_bomb_pdf(levels: usize) -> Vec<u8> {
    // Objects 1-3: catalog, pages, page; 4: page content; 5..: the forms.
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /XObject << /X 5 0 R >> >> >>"
            .into(),
        stream("", "/X Do"),
    ];
    for level in 0..levels {
        let id = 5 + level;
        let (resources, content) = if level + 1 < levels {
            (
                format!("/Resources << /XObject << /X {} 0 R >> >>", id + 1),
                "q /X Do Q q /X Do Q",
            )
        } else {
            (String::new(), "0 0 m 1 1 l S")
        };
        objects.push(stream(
            &format!("/Type /XObject /Subtype /Form /BBox [0 0 1 1] {resources}"),
            content,
        ));
    }
    pdf_from_objects(&objects)
}

fn stream(dict: &str, content: &str) -> String {
    format!(
        "<< {dict} /Length {} >>\nstream\n{content}\nendstream",
        content.len()
    )
}

/// About `bytes` of CSV: a header of a million empty columns, then short rows.
pub fn wide_csv(bytes: usize) -> Vec<u8> {
    let mut out = vec![b','; 1_000_000];
    out.push(b'\n');
    while out.len() + 4 <= bytes {
        out.extend_from_slice(b"1,2\n");
    }
    out
}

/// About `bytes` of JSON: a list of arrays nested 120 deep (serde_json's
/// limit is 128), each costing ~15 KB of indentation when pretty-printed.
pub fn nested_json(bytes: usize) -> Vec<u8> {
    let one = format!("{}{}", "[".repeat(120), "]".repeat(120));
    let count = (bytes / (one.len() + 1)).max(1);
    format!("[{}]", vec![one.as_str(); count].join(",")).into_bytes()
}

/// A DOCX whose `word/document.xml` is one text run of `text_bytes`
/// letters, deflated to about 1/160 of that (every 258 letters a 13-bit
/// back-reference).
pub fn docx_bomb(text_bytes: usize) -> Vec<u8> {
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
        <w:body><w:p><w:r><w:t>";
    let tail = "</w:t></w:r></w:p></w:body></w:document>";
    let repeats = text_bytes.saturating_sub(1) / 258;
    let letters = 1 + repeats * 258;
    // Fixed-Huffman deflate: literals, then `repeats` copies of 258 bytes
    // at distance 1, then literals again.
    let mut bits = Bits::default();
    bits.put(1, 1); // last block
    bits.put(1, 2); // fixed Huffman
    for b in head.bytes().chain(std::iter::once(b'a')) {
        bits.literal(b);
    }
    for _ in 0..repeats {
        bits.put_code(0b1100_0101, 8); // length 258 (code 285)
        bits.put_code(0, 5); // distance 1
    }
    for b in tail.bytes() {
        bits.literal(b);
    }
    bits.put_code(0, 7); // end of block (code 256)
    let deflated = bits.finish();
    let size = head.len() + letters + tail.len();
    let mut crc = Crc::new();
    crc.update(head.as_bytes());
    for _ in 0..letters {
        crc.update(b"a");
    }
    crc.update(tail.as_bytes());
    zip_one("word/document.xml", &deflated, crc.value(), size as u32)
}

/// One deflated entry in a zip archive.
fn zip_one(name: &str, deflated: &[u8], crc: u32, size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let common = |out: &mut Vec<u8>| {
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&8u16.to_le_bytes()); // deflate
        out.extend_from_slice(&0u32.to_le_bytes()); // time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
    };
    out.extend_from_slice(b"PK\x03\x04");
    common(&mut out);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(deflated);
    let central = out.len();
    out.extend_from_slice(b"PK\x01\x02");
    out.extend_from_slice(&20u16.to_le_bytes()); // version made by
    common(&mut out);
    out.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // external attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name.as_bytes());
    let central_len = out.len() - central;
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&(central_len as u32).to_le_bytes());
    out.extend_from_slice(&(central as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A deflate bit stream: fields least significant bit first, Huffman codes
/// most significant bit first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn put_code(&mut self, code: u32, count: u32) {
        let reversed = code.reverse_bits() >> (32 - count);
        self.put(reversed, count);
    }

    /// A literal byte below 144 (every ASCII character): 8-bit code.
    fn literal(&mut self, b: u8) {
        assert!(b < 144, "only ASCII literals");
        self.put_code(0x30 + u32::from(b), 8);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// CRC-32 (IEEE), as zip records it.
struct Crc {
    table: [u32; 256],
    value: u32,
}

impl Crc {
    fn new() -> Self {
        let mut table = [0u32; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        Self {
            table,
            value: 0xFFFF_FFFF,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.value =
                self.table[((self.value ^ u32::from(b)) & 0xFF) as usize] ^ (self.value >> 8);
        }
    }

    fn value(&self) -> u32 {
        !self.value
    }
}
