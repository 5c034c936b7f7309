//! A `corridor diagnose` session captured with tshark inside the client namespace: no
//! packet of ours is malformed in Wireshark's eyes, and with the key log written by
//! `CORRIDOR_KEYLOG` Wireshark decrypts IKE_AUTH. Needs root and tshark
//! (`scripts/setup-system`); fails, never skips, without them.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::{Host, Lab, LabConfig, ProfileOptions, Scenario};
use tempfile::TempDir;

fn tshark(home: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .env("HOME", home)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("tshark is needed (scripts/setup-system installs it): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark {args:?}: {stderr}");
    // A key log line Wireshark cannot read is reported here, not in the exit status.
    assert!(!stderr.contains("Error loading table"), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn captured_session_is_well_formed_and_decrypts_with_the_key_log() {
    let lab = Lab::start(LabConfig::new(Scenario::Psk))
        .unwrap_or_else(|e| panic!("could not start the lab: {e:#}"));
    let dir = TempDir::new().unwrap();
    let home = dir.path().join("home");
    // Wireshark reads its tables from here; the key log writes them.
    let wireshark_dir = home.join(".config/wireshark");
    let pcap = dir.path().join("session.pcapng");
    std::fs::create_dir_all(&home).unwrap();

    let mut capture = lab
        .command(Host::Client, "tshark")
        .env("HOME", &home)
        .args(["-i", "any", "-f", "udp port 500 or udp port 4500", "-w"])
        .arg(&pcap)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tshark is needed (scripts/setup-system installs it)");
    // Wait until the capture runs: tshark says "Capturing on 'eth0'" once the
    // interface is open (a file on disk is not enough on a busy machine).
    let stderr = capture.stderr.take().unwrap();
    let (said_tx, said_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            if said_tx.send(line).is_err() {
                break;
            }
        }
    });
    let until = Instant::now() + Duration::from_secs(20);
    let mut said = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match said_rx.recv_timeout(left) {
            Ok(line) if line.contains("Capturing on") => break,
            Ok(line) => said.push(line),
            Err(_) => panic!("tshark did not start capturing: {}", said.join("\n")),
        }
    }

    let profile_file = dir.path().join("profile.json");
    let profile = lab.corridor_profile(&ProfileOptions::default()).unwrap();
    std::fs::write(&profile_file, serde_json::to_vec(&profile).unwrap()).unwrap();
    let diagnose = lab
        .command(Host::Client, env!("CARGO_BIN_EXE_corridor"))
        .env("CORRIDOR_KEYLOG", &wireshark_dir)
        .arg("diagnose")
        .arg("--profiles-dir")
        .arg(dir.path().join("store"))
        .arg(&profile_file)
        .args(["--hold", "1"])
        .stdin(Stdio::null())
        .output()
        .expect("run corridor diagnose");
    let stdout = String::from_utf8_lossy(&diagnose.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&diagnose.stderr).into_owned();
    assert!(diagnose.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("WARNING: CORRIDOR_KEYLOG is set"),
        "{stderr}"
    );

    // Let the last packets reach the file, then stop tshark by its pid.
    std::thread::sleep(Duration::from_millis(700));
    let pid = capture.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while capture.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if capture.try_wait().unwrap().is_none() {
        let _ = capture.kill();
    }
    let _ = capture.wait();

    let table = std::fs::read_to_string(wireshark_dir.join("ikev2_decryption_table")).unwrap();
    assert_eq!(table.lines().count(), 1, "{table}");
    let esp = std::fs::read_to_string(wireshark_dir.join("esp_sa")).unwrap();
    assert_eq!(esp.lines().count(), 2, "{esp}");
    let pcap_arg = pcap.to_str().unwrap();

    let summary = tshark(&home, &["-r", pcap_arg]);
    eprintln!("{summary}");
    assert!(summary.contains("IKE_SA_INIT"), "{summary}");
    assert!(summary.contains("IKE_AUTH"), "{summary}");
    assert!(summary.contains("INFORMATIONAL"), "{summary}");

    let malformed = tshark(&home, &["-r", pcap_arg, "-Y", "_ws.malformed"]);
    assert!(
        malformed.trim().is_empty(),
        "malformed packets:\n{malformed}"
    );

    // IDi exists only inside the encrypted payload of IKE_AUTH: seeing it proves that the
    // logged keys decrypt the exchange.
    let detail = tshark(
        &home,
        &["-r", pcap_arg, "-V", "-Y", "isakmp.exchangetype == 35"],
    );
    assert!(
        detail.contains("Identification - Initiator"),
        "IKE_AUTH was not decrypted:\n{detail}"
    );
    assert!(
        detail.contains("Identification - Responder"),
        "IKE_AUTH answer was not decrypted:\n{detail}"
    );
    lab.shutdown().expect("lab teardown");
}
