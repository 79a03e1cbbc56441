//! The one convention table: for every subcommand, what its `-o` (or
//! `--metrics`) can write and the extension that names each format, which
//! inputs it reads and whether `-` (standard input) is one of them, its
//! examples and its exit codes.
//!
//! Everything the user sees about these conventions is generated from or
//! checked against this table: the `--help` examples and exit codes
//! ([`after_help`]), the `-o` help line and extension check
//! ([`Convention::format_of`]), the refusal of `-` where an input cannot be
//! a stream, the man pages' EXAMPLES and EXIT STATUS sections
//! (`commands::completions`), and the test that walks every subcommand
//! (`tests/cli_layout.rs`, `conventions::every_subcommand_follows_the_table`).

use std::path::Path;

/// A format a command writes, as `--format` names it, and the file name
/// endings that select it from `-o FILE` (none: only `--format` selects it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub name: &'static str,
    pub extensions: &'static [&'static str],
}

pub const TEXT: Format = Format {
    name: "text",
    extensions: &["txt", "text"],
};
pub const JSON: Format = Format {
    name: "json",
    extensions: &["json"],
};
pub const MD: Format = Format {
    name: "md",
    extensions: &["md", "markdown"],
};
pub const HTML: Format = Format {
    name: "html",
    extensions: &["html", "htm"],
};
pub const OPENMETRICS: Format = Format {
    name: "openmetrics",
    extensions: &["prom"],
};
/// `layout`'s and `decode`'s totals: chosen with `--format summary` only.
pub const SUMMARY: Format = Format {
    name: "summary",
    extensions: &[],
};
pub const YAML: Format = Format {
    name: "yaml",
    extensions: &["yaml", "yml"],
};
/// collect's bundle: an uncompressed tar.
pub const BUNDLE: Format = Format {
    name: "bundle",
    extensions: &["tar"],
};

/// An input a command reads: the clap id of its argument, and whether `-`
/// (standard input) may stand for it. `None`: it may; `Some(why)`: it may
/// not, and the refusal says why.
#[derive(Debug, Clone, Copy)]
pub struct Input {
    pub arg: &'static str,
    pub stdin: Option<&'static str>,
    /// `MAP=FILE`: the file is after the first `=`.
    pub after_eq: bool,
    /// A path that does not exist is refused before the command runs
    /// ("no such file"). Not for what collect and watch look for on a live
    /// node: a missing one is reported there (exit 1), not a usage error.
    pub exists: bool,
}

const fn input(arg: &'static str) -> Input {
    Input {
        arg,
        stdin: None,
        after_eq: false,
        exists: true,
    }
}

const fn no_stdin(arg: &'static str, why: &'static str) -> Input {
    Input {
        arg,
        stdin: Some(why),
        after_eq: false,
        exists: true,
    }
}

const fn on_node(arg: &'static str, why: &'static str) -> Input {
    Input {
        arg,
        stdin: Some(why),
        after_eq: false,
        exists: false,
    }
}

/// One subcommand's conventions.
#[derive(Debug, Clone, Copy)]
pub struct Convention {
    /// The subcommand's name (`bpfcase` for the top level).
    pub command: &'static str,
    /// The clap id of the argument naming the file written (`output` for
    /// `-o`), if the command writes one.
    pub output_arg: Option<&'static str>,
    /// What that file can hold; the first is the default.
    pub writes: &'static [Format],
    pub inputs: &'static [Input],
    /// Shown verbatim, one command line each (with a `# comment` at most).
    pub examples: &'static [&'static str],
    pub exit_codes: &'static [(u8, &'static str)],
    /// Arguments naming a directory the command writes into (not an input).
    pub output_dirs: &'static [&'static str],
}

const ANALYZE_CODES: &[(u8, &str)] = &[
    (0, "no finding at or above --fail-on"),
    (1, "findings at or above --fail-on"),
    (2, "could not run: bad usage, a missing or unreadable input"),
];

const DIRECTORY: &str = "a directory cannot come from standard input";

/// Every format some command writes.
pub const FORMATS: &[Format] = &[TEXT, JSON, MD, HTML, OPENMETRICS, SUMMARY, YAML, BUNDLE];

/// Every subcommand, and the top level first.
pub const TABLE: &[Convention] = &[
    Convention {
        command: "bpfcase",
        output_arg: None,
        writes: &[],
        inputs: &[],
        examples: &[
            "bpfcase collect -o case.tar --trace-pid 4711     # on the node, as root",
            "bpfcase analyze case.tar                         # anywhere, later",
            "bpfcase analyze case.tar ./agent -o case.html    # format from the extension",
            "cat case.tar | bpfcase analyze -                 # `-` is standard input",
            "bpfcase layout /sys/kernel/btf/vmlinux task_struct",
            "bpfcase fleet ./bundles/                         # many nodes at once",
        ],
        exit_codes: &[
            (0, "done; no finding at or above --fail-on"),
            (
                1,
                "findings at or above --fail-on; collect: a --map/--pinned/--elf missed",
            ),
            (
                2,
                "the command could not run: bad usage, a missing or unreadable input",
            ),
        ],
        output_dirs: &[],
    },
    Convention {
        command: "analyze",
        output_arg: Some("output"),
        writes: &[TEXT, JSON, MD, HTML, OPENMETRICS],
        inputs: &[
            input("inputs"),
            Input {
                arg: "dumps",
                stdin: None,
                after_eq: true,
                exists: true,
            },
            no_stdin("debug_dir", DIRECTORY),
        ],
        examples: &[
            "bpfcase analyze case.tar                       # a bundle from collect",
            "cat case.tar | bpfcase analyze -               # a bundle on stdin",
            "bpfcase analyze case.tar ./agent/ -o case.md   # plus Go source; Markdown",
            "bpfcase analyze prog.bpf.o agent-binary flows.json",
            "bpftool -j map dump id 7 | bpfcase analyze prog.bpf.o --dump flows=-",
            "bpfcase analyze /var/lib/bpfcase               # one node, its kept bundles",
        ],
        exit_codes: ANALYZE_CODES,
        output_dirs: &[],
    },
    Convention {
        command: "layout",
        output_arg: Some("output"),
        writes: &[TEXT, JSON, SUMMARY],
        inputs: &[input("file"), input("base")],
        examples: &[
            "bpfcase layout /sys/kernel/btf/vmlinux task_struct",
            "bpfcase layout prog.bpf.o flow_key -o flow_key.json",
            "bpfcase layout /sys/kernel/btf/vmlinux --format summary",
            "cat prog.bpf.o | bpfcase layout - flow_key",
        ],
        exit_codes: &[
            (0, "types printed"),
            (
                2,
                "could not run: bad usage, FILE not BTF, a TYPE not in it",
            ),
        ],
        output_dirs: &[],
    },
    Convention {
        command: "schema",
        output_arg: Some("output"),
        writes: &[YAML],
        inputs: &[
            no_stdin("go_src", "Go source is a file or package directory"),
            input("btf"),
            input("dwarf"),
            input("base"),
            no_stdin("debug_dir", DIRECTORY),
        ],
        examples: &[
            "bpfcase schema --go-src ./agent --type FlowKey -o flow_key.yaml",
            "bpfcase schema --dwarf ./agent-binary --type flow_key",
            "cat prog.bpf.o | bpfcase schema --btf - --type flow_key",
        ],
        exit_codes: &[
            (0, "YAML written"),
            (
                2,
                "could not run: bad usage, source unreadable, type not in it",
            ),
        ],
        output_dirs: &[],
    },
    Convention {
        command: "decode",
        output_arg: Some("output"),
        writes: &[TEXT, JSON, SUMMARY],
        inputs: &[
            input("dump"),
            input("btf"),
            input("dwarf"),
            input("schema"),
            input("show"),
        ],
        examples: &[
            "bpfcase decode --dump flows.json --btf prog.bpf.o --map flows",
            "bpftool -j map dump id 7 | bpfcase decode --dump - --btf prog.o --map flows",
            "bpfcase decode --dump flows.json --btf prog.o --map flows -o entries.json",
            "bpfcase decode --dump flows.json --btf prog.o --map flows --format summary",
        ],
        exit_codes: ANALYZE_CODES,
        output_dirs: &[],
    },
    Convention {
        command: "diff",
        output_arg: Some("output"),
        writes: &[TEXT, JSON],
        inputs: &[input("old"), input("new"), input("btf")],
        examples: &[
            "bpfcase diff before.json after.json --btf prog.bpf.o --map flows",
            "bpfcase diff case.tar                    # a bundle's --snapshots",
            "bpfcase diff old-case.tar new-case.tar -o diff.json",
            "bpftool -j map dump id 7 | bpfcase diff before.json -",
        ],
        exit_codes: &[
            (0, "differences printed, or none"),
            (2, "could not run: bad usage, a missing or unreadable input"),
        ],
        output_dirs: &[],
    },
    Convention {
        command: "collect",
        output_arg: Some("output"),
        writes: &[BUNDLE],
        inputs: &[
            on_node(
                "pinned",
                "a bpffs directory cannot come from standard input",
            ),
            on_node(
                "elfs",
                "collect copies the object file itself into the bundle",
            ),
        ],
        examples: &[
            "bpfcase collect -o case.tar",
            "bpfcase collect -o case.tar --pid 4711 --trace-pid 4711 --trace-for 10s",
            "bpfcase collect --map flows --snapshots 3 --interval 1s --redact",
        ],
        exit_codes: &[
            (0, "bundle written"),
            (
                1,
                "bundle written, but a --map, --pinned or --elf named was not collected",
            ),
            (2, "no bundle: bad usage, no privilege, output not writable"),
        ],
        output_dirs: &[],
    },
    Convention {
        command: "watch",
        output_arg: Some("metrics"),
        writes: &[OPENMETRICS],
        inputs: &[
            on_node(
                "pinned",
                "a bpffs directory cannot come from standard input",
            ),
            on_node("bpffs", DIRECTORY),
        ],
        examples: &[
            "bpfcase watch --out /var/lib/bpfcase --metrics /run/textfile/bpfcase.prom",
            "bpfcase watch --out ./bundles --interval 1m --keep 24 --max-bytes 2G",
            "bpfcase watch --out ./bundles --pid 4711 --cycles 1",
        ],
        exit_codes: &[
            (0, "stopped by SIGTERM or SIGINT, or after --cycles"),
            (
                2,
                "could not start: bad usage, no privilege, --out not writable",
            ),
        ],
        output_dirs: &["out"],
    },
    Convention {
        command: "fleet",
        output_arg: Some("output"),
        writes: &[TEXT, JSON, MD, HTML],
        inputs: &[no_stdin(
            "inputs",
            "fleet reads many bundles; for one bundle on stdin use `bpfcase analyze -`",
        )],
        examples: &[
            "bpfcase fleet ./bundles/                   # one bundle per node",
            "bpfcase fleet node-*.tar -o fleet.html",
            "bpfcase fleet ./bundles --format json --fail-on warning",
        ],
        exit_codes: &[
            (0, "no finding at or above --fail-on in any bundle"),
            (
                1,
                "findings at or above --fail-on (an unreadable bundle is an error)",
            ),
            (
                2,
                "could not run: bad usage, no bundle found or none readable",
            ),
        ],
        output_dirs: &[],
    },
    Convention {
        command: "completions",
        output_arg: None,
        writes: &[],
        inputs: &[],
        examples: &[
            "bpfcase completions bash > /etc/bash_completion.d/bpfcase",
            "bpfcase completions zsh > ~/.zfunc/_bpfcase",
            "bpfcase completions fish > ~/.config/fish/completions/bpfcase.fish",
        ],
        exit_codes: &[(0, "script written"), (2, "bad usage (an unknown shell)")],
        output_dirs: &[],
    },
    Convention {
        command: "man",
        output_arg: None,
        writes: &[],
        inputs: &[],
        examples: &[
            "bpfcase man | man -l -",
            "bpfcase man --dir /usr/local/share/man/man1",
        ],
        exit_codes: &[
            (0, "pages written"),
            (2, "bad usage, or --dir not writable"),
        ],
        output_dirs: &["dir"],
    },
];

/// The conventions of subcommand `command` (`bpfcase`: the top level).
pub fn of(command: &str) -> Option<&'static Convention> {
    TABLE.iter().find(|c| c.command == command)
}

impl Convention {
    /// The format `-o FILE`'s name selects: `Ok(None)` when the name has
    /// no extension (the default or `--format` decides), `Err(ext)` when it
    /// ends in an extension this command does not write.
    pub fn format_of(&self, file: &Path) -> Result<Option<&'static Format>, String> {
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            return Ok(None);
        };
        let lower = name.to_ascii_lowercase();
        for f in self.writes {
            if f.extensions
                .iter()
                .any(|e| lower.ends_with(&format!(".{e}")))
            {
                return Ok(Some(f));
            }
        }
        match Path::new(&lower).extension().and_then(|e| e.to_str()) {
            // `.bashrc`-like names have no extension in Path's sense.
            Some(ext) => Err(ext.to_string()),
            None => Ok(None),
        }
    }

    /// What this command writes, for messages and help: `.txt (text),
    /// .json, .md, .html, .prom (openmetrics); summary with --format`.
    pub fn writes_list(&self) -> String {
        let mut with_ext = Vec::new();
        let mut only_flag = Vec::new();
        for f in self.writes {
            match f.extensions.first() {
                Some(e) if *e == f.name => with_ext.push(format!(".{e}")),
                Some(e) => with_ext.push(format!(".{e} ({})", f.name)),
                None => only_flag.push(f.name),
            }
        }
        let mut s = with_ext.join(", ");
        if !only_flag.is_empty() {
            s.push_str(&format!("; {} with --format", only_flag.join(", ")));
        }
        s
    }

    /// The error for `-o FILE` ending in `.ext`, which this command cannot write.
    pub fn unwritable(&self, file: &Path, ext: &str) -> miette::Report {
        crate::error::usage(
            format!(
                "{}: bpfcase {} cannot write `.{ext}` files",
                file.display(),
                self.command
            ),
            format!(
                "it writes {}; name the file with one of these extensions",
                self.writes_list()
            ),
        )
    }

    /// The text after `--help`: the examples, verbatim, and the exit codes.
    pub fn after_help(&self) -> String {
        let mut s = String::from("Examples:\n");
        for e in self.examples {
            s.push_str(&format!("  {e}\n"));
        }
        s.push_str("\nExit codes:\n");
        for (code, what) in self.exit_codes {
            s.push_str(&format!("  {code}  {what}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_and_exit_codes_fit_in_80_columns_unwrapped() {
        for c in TABLE {
            for line in c.after_help().lines() {
                assert!(line.chars().count() <= 80, "{}: {line}", c.command);
            }
            assert!(!c.examples.is_empty() && !c.exit_codes.is_empty());
            // One row per code, in order.
            assert!(
                c.exit_codes.windows(2).all(|w| w[0].0 < w[1].0),
                "{}",
                c.command
            );
            for e in c.examples {
                assert!(e.starts_with("bpfcase ") || e.contains("| bpfcase "), "{e}");
            }
        }
    }

    #[test]
    fn extensions_select_formats_and_others_are_refused() {
        let analyze = of("analyze").unwrap();
        let f = |n: &str| analyze.format_of(Path::new(n));
        assert_eq!(f("r.html").unwrap().unwrap().name, "html");
        assert_eq!(f("R.HTM").unwrap().unwrap().name, "html");
        assert_eq!(f("metrics.prom").unwrap().unwrap().name, "openmetrics");
        assert_eq!(f("report").unwrap(), None);
        assert_eq!(f("r.pdf").unwrap_err(), "pdf");
        let collect = of("collect").unwrap();
        assert_eq!(
            collect.format_of(Path::new("case.tar")).unwrap(),
            Some(&BUNDLE)
        );
        assert_eq!(
            collect.format_of(Path::new("case.tar.gz")).unwrap_err(),
            "gz"
        );
        assert_eq!(
            of("layout").unwrap().writes_list(),
            ".txt (text), .json; summary with --format"
        );
    }
}
