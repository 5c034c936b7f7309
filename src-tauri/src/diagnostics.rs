//! The diagnostics archive a user sends to IT: the service's recent log, versions,
//! the profiles as exported (without secrets) and the app's recent events, in one zip
//! file. User names and EAP identities are replaced by `<redacted>` everywhere in it.

use std::io::{Seek, Write};

use serde_json::Value;
use zip::write::SimpleFileOptions;

/// What replaces a user name or identity.
pub(crate) const REDACTED: &str = "<redacted>";

/// Everything the archive holds, before redaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Contents {
    /// The service's log, one line each.
    pub(crate) logs: Vec<String>,
    /// App, service and OS versions.
    pub(crate) versions: Value,
    /// Exported profiles: file name and Corridor JSON.
    pub(crate) profiles: Vec<(String, Vec<u8>)>,
    /// Recent events, one JSON line each.
    pub(crate) events: Vec<String>,
}

/// Replaces every occurrence of the words it knows (user names, EAP identities) by
/// `<redacted>`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    words: Vec<String>,
}

impl Redactor {
    /// Adds `word` to what is hidden; words shorter than 2 characters would blank out
    /// ordinary text and are skipped.
    pub(crate) fn add(&mut self, word: &str) {
        let word = word.trim();
        if word.chars().count() >= 2 && word != REDACTED && !self.words.iter().any(|w| w == word) {
            self.words.push(word.to_string());
            // Longest first, so `alice@corp.example` goes before `alice`.
            self.words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        }
    }

    /// Adds the identities a profile (Corridor JSON) names: its EAP identity and its
    /// local identity, with the user part of an e-mail style identity on its own.
    pub(crate) fn add_profile(&mut self, profile: &Value) {
        for key in ["eap_identity", "local_identity"] {
            if let Some(text) = identity_text(profile.pointer(&format!("/auth/{key}"))) {
                self.add(&text);
                if let Some((user, _domain)) = text.split_once('@') {
                    self.add(user);
                }
                if let Some((_domain, user)) = text.split_once('\\') {
                    self.add(user);
                }
            }
        }
    }

    /// `text` with every known word replaced.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for word in &self.words {
            if out.contains(word.as_str()) {
                out = out.replace(word.as_str(), REDACTED);
            }
        }
        out
    }
}

/// An identity's text: a plain string, or the value of a `{"type": value}` object.
fn identity_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.values().find_map(|v| v.as_str().map(str::to_string)),
        _ => None,
    }
}

/// A profile file's JSON with its identities replaced, then every known word.
pub(crate) fn redact_profile(bytes: &[u8], redactor: &Redactor) -> Vec<u8> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut json) => {
            if let Some(auth) = json.get_mut("auth").and_then(Value::as_object_mut) {
                for key in ["eap_identity", "local_identity"] {
                    if let Some(v) = auth.get_mut(key)
                        && !v.is_null()
                    {
                        *v = Value::String(REDACTED.to_string());
                    }
                }
            }
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            redactor.apply(&text).into_bytes()
        }
        Err(_) => redactor.apply(&String::from_utf8_lossy(bytes)).into_bytes(),
    }
}

/// A name safe inside the archive (no directories, no odd characters).
fn entry_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.trim_matches('.').is_empty() {
        "profile.json".to_string()
    } else {
        cleaned
    }
}

/// Writes the redacted archive; returns its entries' names.
///
/// # Errors
/// The archive cannot be written.
pub(crate) fn write_zip<W: Write + Seek>(
    out: W,
    contents: &Contents,
    redactor: &Redactor,
) -> Result<Vec<String>, String> {
    let mut zip = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut entries = Vec::new();
    let mut add = |name: String, bytes: &[u8]| -> Result<(), String> {
        zip.start_file(name.as_str(), options)
            .map_err(|e| format!("cannot add {name}: {e}"))?;
        zip.write_all(bytes)
            .map_err(|e| format!("cannot write {name}: {e}"))?;
        entries.push(name);
        Ok(())
    };
    let mut logs = contents.logs.join("\n");
    logs.push('\n');
    add("logs.txt".to_string(), redactor.apply(&logs).as_bytes())?;
    let versions = serde_json::to_string_pretty(&contents.versions).unwrap_or_default();
    add(
        "versions.json".to_string(),
        redactor.apply(&versions).as_bytes(),
    )?;
    let mut events = contents.events.join("\n");
    events.push('\n');
    add(
        "events.jsonl".to_string(),
        redactor.apply(&events).as_bytes(),
    )?;
    let mut used = std::collections::HashSet::new();
    for (name, bytes) in &contents.profiles {
        let mut file = format!("profiles/{}", entry_name(&redactor.apply(name)));
        let mut n = 2;
        while !used.insert(file.clone()) {
            file = format!("profiles/{n}-{}", entry_name(name));
            n += 1;
        }
        add(file, &redact_profile(bytes, redactor))?;
    }
    zip.finish()
        .map_err(|e| format!("cannot finish the archive: {e}"))?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    fn profile_json() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "version": 1,
            "name": "Work",
            "gateway": {"host": "vpn.example.org"},
            "auth": {
                "method": "eap-mschapv2",
                "eap_identity": "alice@corp.example",
                "local_identity": {"fqdn": "laptop-alice.corp.example"}
            }
        }))
        .unwrap()
    }

    fn redactor() -> Redactor {
        let mut r = Redactor::default();
        r.add("bob");
        r.add_profile(&serde_json::from_slice(&profile_json()).unwrap());
        r
    }

    #[test]
    fn redaction_hides_users_and_identities() {
        let r = redactor();
        assert_eq!(
            r.apply("EAP identity alice@corp.example accepted for uid 1000 (bob)"),
            "EAP identity <redacted> accepted for uid 1000 (<redacted>)"
        );
        assert_eq!(
            r.apply("alice logged in from /home/bob"),
            "<redacted> logged in from /home/<redacted>"
        );
        assert_eq!(r.apply("nothing to hide"), "nothing to hide");
    }

    #[test]
    fn short_words_are_not_redacted() {
        let mut r = Redactor::default();
        r.add("a");
        r.add(" ");
        assert_eq!(r.apply("a cat"), "a cat");
    }

    #[test]
    fn profiles_lose_their_identities() {
        let out = redact_profile(&profile_json(), &redactor());
        let json: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["auth"]["eap_identity"], REDACTED);
        assert_eq!(json["auth"]["local_identity"], REDACTED);
        assert_eq!(json["gateway"]["host"], "vpn.example.org");
        assert!(!String::from_utf8(out).unwrap().contains("alice"));
    }

    fn read_entry(archive: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str) -> String {
        let mut file = archive.by_name(name).unwrap();
        assert_eq!(file.compression(), zip::CompressionMethod::Deflated);
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn zip_holds_every_part_redacted() {
        let contents = Contents {
            logs: vec![
                "1 info corridord: bob connected Work".to_string(),
                "2 warn corridord: EAP identity alice@corp.example rejected".to_string(),
            ],
            versions: serde_json::json!({"app": "corridor-app 0.1.0", "user": "bob"}),
            profiles: vec![
                ("Work.json".to_string(), profile_json()),
                ("../Work.json".to_string(), profile_json()),
            ],
            events: vec![r#"{"event":"state","data":{"reason":"bob disconnected"}}"#.to_string()],
        };
        let mut buffer = Cursor::new(Vec::new());
        let entries = write_zip(&mut buffer, &contents, &redactor()).unwrap();
        assert_eq!(
            entries,
            vec![
                "logs.txt",
                "versions.json",
                "events.jsonl",
                "profiles/Work.json",
                "profiles/.._Work.json"
            ]
        );
        let mut archive = zip::ZipArchive::new(Cursor::new(buffer.into_inner())).unwrap();
        assert_eq!(archive.len(), 5);
        let logs = read_entry(&mut archive, "logs.txt");
        assert_eq!(
            logs,
            "1 info corridord: <redacted> connected Work\n\
             2 warn corridord: EAP identity <redacted> rejected\n"
        );
        let versions: Value =
            serde_json::from_str(&read_entry(&mut archive, "versions.json")).unwrap();
        assert_eq!(versions["user"], REDACTED);
        assert_eq!(versions["app"], "corridor-app 0.1.0");
        assert!(read_entry(&mut archive, "events.jsonl").contains("<redacted> disconnected"));
        let profile = read_entry(&mut archive, "profiles/Work.json");
        assert!(!profile.contains("alice"), "{profile}");
        assert!(profile.contains("vpn.example.org"));
    }

    #[test]
    fn entry_names_cannot_leave_the_archive_folder() {
        assert_eq!(entry_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(entry_name(".."), "profile.json");
        assert_eq!(entry_name("Work VPN.json"), "Work_VPN.json");
    }
}
