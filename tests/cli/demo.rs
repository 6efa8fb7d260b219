//! `enclog demo`, completions, man page, version and help.

use std::collections::BTreeSet;
use std::path::Path;

use crate::fixture::{enclog, run};

/// Every subcommand of `enclog` (the man pages and help tests go through all of them).
const COMMANDS: [&str; 11] = [
    "genkey",
    "recipient",
    "decrypt",
    "tailf",
    "verify",
    "encrypt",
    "index",
    "grep",
    "demo",
    "completions",
    "man",
];

#[test]
fn demo_shows_ciphertext_then_the_decrypted_events() {
    let r = run(&mut enclog(["demo"]), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = r.stdout_text();
    let raw = out.find("1. The log file as stored").expect("raw section");
    let decrypted = out.find("2. Decrypted").expect("decrypted section");
    let next = out.find("3. Next steps").expect("next steps");
    assert!(raw < decrypted && decrypted < next);
    let raw_section = &out[raw..decrypted];
    assert!(raw_section.contains("enclog:"), "{raw_section}");
    assert!(!raw_section.contains("alice@example.com"), "{raw_section}");
    let decrypted_section = &out[decrypted..next];
    assert!(
        decrypted_section.contains("alice@example.com"),
        "{decrypted_section}"
    );
    assert!(decrypted_section.contains("caused by: connection reset by peer"));
    assert!(!out.contains('\x1b'), "no colour in a pipe");
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let r = run(&mut enclog(["completions", shell]), b"");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout_text().contains("decrypt"), "{shell}");
    }
    let r = run(&mut enclog(["man"]), b"");
    assert_eq!(r.code, 0);
    assert!(r.stdout_text().starts_with(".ie"), "roff");
    assert!(r.stdout_text().contains("tailf"));
}

/// A man page may refer only to pages that `man --dir` writes: `enclog.1` lists one page per
/// command (and none for `enclog help`, which has none), and `enclog man` prints that same
/// `enclog.1`.
#[test]
fn man_pages_refer_only_to_pages_that_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(enclog(["man", "--dir"]).arg(dir.path()), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut referred = BTreeSet::new();
    for page in &written {
        let roff = std::fs::read_to_string(dir.path().join(page)).unwrap();
        for (at, _) in roff.match_indices("enclog\\-") {
            let rest = &roff[at + "enclog\\-".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                .collect();
            if rest[name.len()..].starts_with("(1)") {
                referred.insert(format!("enclog-{name}.1"));
            }
        }
    }
    let pages: BTreeSet<String> = COMMANDS.iter().map(|c| format!("enclog-{c}.1")).collect();
    assert_eq!(referred, pages, "pages referred to");
    let mut all = pages;
    all.insert("enclog.1".into());
    assert_eq!(written, all, "pages written");

    let single = run(&mut enclog(["man"]), b"");
    assert_eq!(single.code, 0, "{}", single.stderr);
    assert_eq!(
        single.stdout_text(),
        std::fs::read_to_string(dir.path().join("enclog.1")).unwrap()
    );
}

/// The README's shell integration block, pasted into bash or sh as it is, installs the bash
/// and zsh completions and the man pages under the home folder.
#[test]
fn the_readme_shell_integration_block_works_in_bash_and_sh() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let block = readme
        .split_once("Shell integration:\n\n```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("the README's shell integration block");
    let bin = Path::new(env!("CARGO_BIN_EXE_enclog")).parent().unwrap();
    for shell in ["bash", "sh"] {
        let home = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(shell)
            .args(["-euc", block])
            .env("HOME", home.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{shell}: {stderr}");
        let installed = |path: &str| {
            std::fs::read_to_string(home.path().join(path))
                .unwrap_or_else(|e| panic!("{shell}: {path}: {e}; {stderr}"))
        };
        assert!(
            installed(".local/share/bash-completion/completions/enclog").contains("_enclog()"),
            "{shell}: bash completion"
        );
        assert!(
            installed(".zfunc/_enclog").starts_with("#compdef enclog"),
            "{shell}: zsh completion"
        );
        assert!(
            installed(".local/share/man/man1/enclog-decrypt.1").starts_with(".ie"),
            "{shell}: man pages"
        );
    }
}

#[test]
fn version_names_the_format() {
    let r = run(&mut enclog(["--version"]), b"");
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout_text(),
        format!(
            "enclog {} (writes enclog line format v{})\n",
            env!("CARGO_PKG_VERSION"),
            enclog::format::FORMAT_VERSION
        )
    );
}

#[test]
fn help_has_examples_and_exit_codes() {
    for command in COMMANDS {
        let r = run(&mut enclog([command, "--help"]), b"");
        assert_eq!(r.code, 0);
        let text = r.stdout_text();
        assert!(text.contains("Example"), "{command}: {text}");
    }
    let r = run(&mut enclog(["--help"]), b"");
    assert!(r.stdout_text().contains("Exit status:"));
    let r = run(&mut enclog(["decrypt", "--help"]), b"");
    assert!(r.stdout_text().contains("Exit status: 0"));
}
