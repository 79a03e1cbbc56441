//! Running the analyses over a loaded case, and assembling the report.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::error::Result;

use super::case::{Case, DumpBody};
use super::AnalyzeOptions;
use crate::analyses::dump_capacity::{self, check_percpu_buffer};
use crate::analyses::dump_checks::{DumpChecker, DumpContext};
use crate::analyses::layout_check::{check_pair, check_pair_size, LayoutPair, PairCheck, Role};
use crate::analyses::lookups::{self, TraceContext};
use crate::analyses::{bpf2go, key_padding, maps};
use crate::error::InputError;
use crate::ingest::btf::{Btf, BtfKind};
use crate::ingest::btf_layout::BtfLayouts;
use crate::ingest::gosrc::bpf2go as gosrc_bpf2go;
use crate::model::case::type_key;
use crate::model::case::{Generated, MapInstance, ScalarType, UserTypes};
use crate::model::finding::{Code, Finding, MapRef, Severity};
use crate::model::layout::{FieldType, Layout};
use crate::report::{CheckSummary, Holder, MapSummary, ProgramRef, ProgramSummary, Report};

use super::names_map;

/// A user type ready to compare: its layout, origin and field aliases.
struct UserType {
    layout: Layout,
    origin: String,
    aliases: Vec<Option<String>>,
    /// What generated it (bpf2go), when a tool did.
    generated: Option<Generated>,
}

/// Finds user type `name` in any source.
fn find_user(users: &[Box<dyn UserTypes>], name: &str) -> Result<Option<UserType>> {
    for u in users {
        match u.layout(name) {
            Ok(Some(layout)) => {
                return Ok(Some(UserType {
                    layout,
                    origin: u.origin(),
                    aliases: u.field_aliases(name),
                    generated: u.generated(name),
                }))
            }
            Ok(None) => {}
            Err(e) => return Err(InputError::new(u.origin(), None, e).into()),
        }
    }
    Ok(None)
}

/// Text spellings shared by the layouts of a case (`Case::texts`).
type Texts = HashMap<String, Arc<str>>;

/// The state the passes share: the case, the findings so far, the layout
/// comparisons made and the entries counted per map.
pub struct Run<'o> {
    pub opts: &'o AnalyzeOptions,
    pub case: Case,
    pub findings: Vec<Finding>,
    pub checks: Vec<PairCheck>,
    /// Entries per map (id, name), from its first dump.
    pub entries: HashMap<(Option<u32>, String), u64>,
    /// Every map update the program-code pass met, by map: what
    /// `layout/key-padding` states about the program side.
    pub prog_writers: crate::analyses::prog_uninit::Writers,
    /// What the accounting pass found unused or not compared, for the report.
    accounted: Option<super::accounting::Accounting>,
}

/// One analysis over the case: it adds findings (or weighs those of the
/// passes before it).
pub struct Pass {
    /// What it does, as the architecture document names it.
    pub name: &'static str,
    pub run: fn(&mut Run<'_>) -> Result<()>,
}

/// Every pass, in order. Passes that weigh evidence found by others come
/// after them; the accounting (every input used or said unused, every map
/// compared or said not compared) is last, so it sees everything.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "layouts: key padding, user types against the maps' BTF, --pair",
        run: layout_pass,
    },
    Pass {
        name: "dumps: each dump's bytes against its map's layouts",
        run: |r| {
            let mut findings = std::mem::take(&mut r.findings);
            r.entries = dump_findings(r.opts, &mut r.case, &mut findings);
            r.findings = findings;
            Ok(())
        },
    },
    Pass {
        name: "per-CPU buffers given with --percpu-buffer",
        run: |r| {
            let found = percpu_buffer_findings(r.opts, &r.case)?;
            r.findings.extend(found);
            Ok(())
        },
    },
    Pass {
        name: "traced calls and map instances (lookups, duplicate names, stale pins)",
        run: |r| {
            let found = trace_and_map_findings(r.opts, &r.case);
            r.findings.extend(found);
            Ok(())
        },
    },
    Pass {
        name: "growth over snapshots and earlier bundles",
        run: |r| {
            let found = growth_findings(r.opts, &r.case);
            r.findings.extend(found);
            Ok(())
        },
    },
    Pass {
        name: "program code: bytes a BPF program never writes",
        run: |r| {
            let side = crate::analyses::prog_uninit::pass(
                &mut r.case.inputs,
                &r.case.prog_objects,
                &r.case.maps,
                &r.opts.maps,
            );
            r.findings.extend(side.findings);
            r.prog_writers = side.writers;
            Ok(())
        },
    },
    Pass {
        name: "live program code: translated instructions of programs no object covers",
        run: |r| {
            let found = crate::analyses::prog_live::pass(
                &mut r.case.inputs,
                &r.case.live_progs,
                &r.case.prog_objects,
                &r.case.maps,
                &r.opts.maps,
            );
            r.findings.extend(found);
            Ok(())
        },
    },
    Pass {
        name: "redaction: no finding rests on bytes collect --redact zeroed",
        run: |r| {
            r.case.redactions.withhold(&mut r.findings);
            Ok(())
        },
    },
    Pass {
        name: "weighing: severities that depend on other passes' evidence",
        run: |r| {
            dump_capacity::confirm_full(&mut r.findings);
            key_padding::weigh(&mut r.findings);
            key_padding::tie_program_side(&mut r.findings);
            key_padding::state_program_writers(&mut r.findings, &r.prog_writers);
            Ok(())
        },
    },
    Pass {
        name: "accounting: every input used, every map compared, or said why not",
        run: |r| {
            let mut accounted = super::accounting::account(r.opts, &r.case, &r.checks);
            r.findings.append(&mut accounted.findings);
            r.accounted = Some(accounted);
            Ok(())
        },
    },
];

/// Runs every pass of [`PASSES`] in order and builds the report.
pub fn run(opts: &AnalyzeOptions, mut case: Case) -> Result<Report> {
    let findings = std::mem::take(&mut case.findings);
    let mut run = Run {
        opts,
        case,
        findings,
        checks: Vec::new(),
        entries: HashMap::new(),
        prog_writers: Default::default(),
        accounted: None,
    };
    for pass in PASSES {
        (pass.run)(&mut run)?;
    }
    Ok(report(run))
}

/// The layout pass: padding in key types, then the user types compared
/// with the maps' types (named with --key-type/--value-type, or found by
/// name), generated types without a map, and `--pair`s.
fn layout_pass(r: &mut Run<'_>) -> Result<()> {
    let (args, case, findings) = (r.opts, &mut r.case, &mut r.findings);
    let mut checks = {
        let selected = selected_maps(args, &case.maps)?;
        findings.extend(key_padding_findings(&selected));
        if args.key_type.is_some() || args.value_type.is_some() {
            explicit_checks(args, &selected, &case.users, &mut case.texts)?
        } else {
            automatic_checks(&selected, &case.users, &mut case.texts, findings)
        }
    };
    if args.key_type.is_none() && args.value_type.is_none() && args.maps.is_empty() {
        checks.extend(unmapped_generated(case, &checks, findings));
    }
    checks.extend(pair_checks(args, case)?);
    for c in &mut checks {
        findings.append(&mut c.findings);
    }
    r.checks.extend(checks);
    Ok(())
}

/// The report from what the passes found.
fn report(run: Run<'_>) -> Report {
    let Run {
        case,
        findings,
        checks,
        entries,
        accounted,
        ..
    } = run;
    let accounted = accounted.unwrap_or_default();
    let owners = Owners::of(case.manifest.as_ref());
    let map_summaries = map_summaries(&case.maps, &entries, &owners);
    let calls = super::accounting::call_counts(&case);
    let mut report = Report::new(case.inputs, map_summaries, findings);
    report.programs = owners.programs;
    report.checks = checks.into_iter().map(CheckSummary::from).collect();
    report.dumps = accounted.dumps;
    report.traces = accounted.traces;
    report.calls = calls;
    report.configuration = case.configs;
    report.collection = case.collection;
    report.bundles = case.bundles;
    report
}

/// `dump/growing` over each selected map's dumps in time order.
fn growth_findings(args: &AnalyzeOptions, case: &Case) -> Vec<Finding> {
    let selected: Vec<MapInstance> = case
        .maps
        .iter()
        .filter(|m| is_selected(args, m))
        .cloned()
        .collect();
    let opts = crate::analyses::growth::GrowthOptions {
        full_within_secs: args.full_within.as_secs(),
        live_pids: case.live_pids.clone(),
    };
    crate::analyses::growth::findings(&selected, &case.growth, &opts)
}

/// Whether `m` is one of the maps `--map` names (all maps without `--map`).
fn is_selected(args: &AnalyzeOptions, m: &MapInstance) -> bool {
    args.maps.is_empty() || args.maps.iter().any(|w| names_map(w, &m.name, m.id))
}

/// The maps `--map` chooses (a name or, where a reload left several maps
/// of one name, an id); a `--map` naming no map of the inputs is an error.
fn selected_maps<'c>(
    args: &AnalyzeOptions,
    maps: &'c [MapInstance],
) -> Result<Vec<&'c MapInstance>> {
    for want in &args.maps {
        if !maps.iter().any(|m| names_map(want, &m.name, m.id)) {
            return Err(InputError::new(want, None, "no map of this name in the inputs").into());
        }
    }
    Ok(maps.iter().filter(|m| is_selected(args, m)).collect())
}

/// `layout/key-padding`: one per map key type with padding.
fn key_padding_findings(selected: &[&MapInstance]) -> Vec<Finding> {
    selected
        .iter()
        .filter_map(|m| {
            let k = m.key_layout.as_ref()?;
            key_padding::check(
                Some(m.map_ref()),
                k,
                m.btf_origin.as_deref().unwrap_or("BTF"),
            )
        })
        .collect()
}

/// `--key-type`/`--value-type`: the named user types against the one map
/// chosen (an explicit `--map` naming one map is the map, whatever its
/// types). A name no input defines is an error.
fn explicit_checks(
    args: &AnalyzeOptions,
    selected: &[&MapInstance],
    users: &[Box<dyn UserTypes>],
    texts: &mut Texts,
) -> Result<Vec<PairCheck>> {
    let with_layouts: Vec<&&MapInstance> = selected
        .iter()
        .filter(|m| {
            (!args.maps.is_empty() && selected.len() == 1)
                || m.key_layout.is_some()
                || m.value_layout.is_some()
                || m.key_scalar.is_some()
                || m.value_scalar.is_some()
        })
        .collect();
    let [m] = with_layouts.as_slice() else {
        return Err(InputError::new(
            "--key-type/--value-type",
            None,
            format!(
                "{} maps with BTF layouts match; choose one with --map NAME or --map ID ({})",
                with_layouts.len(),
                with_layouts
                    .iter()
                    .map(|m| match m.id {
                        Some(id) => format!("{} id {id}", m.name),
                        None => m.name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into());
    };
    let mut checks = Vec::new();
    for (role, user_name, kernel, scalar) in [
        (Role::Key, &args.key_type, &m.key_layout, &m.key_scalar),
        (
            Role::Value,
            &args.value_type,
            &m.value_layout,
            &m.value_scalar,
        ),
    ] {
        let Some(user_name) = user_name else {
            continue;
        };
        // Looked up first: a name that is nowhere is an error whatever the map holds.
        let Some(user) = find_user(users, user_name)? else {
            return Err(no_user_type_in(user_name, users));
        };
        if let Some(kernel) = kernel {
            checks.push(pair(texts, Some(m), role, &user, kernel));
        } else if let Some(scalar) = scalar {
            checks.push(scalar_pair(texts, m, role, &user, scalar));
        } else {
            return Err(InputError::new(
                user_name,
                None,
                format!(
                    "map `{}` has no BTF {} type to compare it with",
                    m.name,
                    role.as_str()
                ),
            )
            .into());
        }
    }
    Ok(checks)
}

/// Without `--key-type`/`--value-type`: each user type whose name matches a
/// map's key or value type (FlowKey ↔ flow_key; a generated type by its
/// tool's naming rule, bpfSkKey ↔ sk_key) is compared with it. A user type
/// that cannot be laid out becomes a finding.
fn automatic_checks(
    selected: &[&MapInstance],
    users: &[Box<dyn UserTypes>],
    texts: &mut Texts,
    findings: &mut Vec<Finding>,
) -> Vec<PairCheck> {
    let mut checks = Vec::new();
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, u) in users.iter().enumerate() {
        names.extend(u.type_names().into_iter().map(|n| (n, i)));
    }
    for m in selected {
        for (role, kernel) in [(Role::Key, &m.key_layout), (Role::Value, &m.value_layout)] {
            let Some(kernel) = kernel else { continue };
            let want = type_key(&kernel.name);
            let pairs = |n: &str, i: usize| match users[i].generated(n) {
                Some(g) => generated_name(&g, &kernel.name) == n,
                None => type_key(n) == want,
            };
            for (n, i) in names.iter().filter(|(n, i)| pairs(n, *i)) {
                let u = &users[*i];
                match u.layout(n) {
                    Ok(Some(layout)) => {
                        let user = UserType {
                            layout,
                            origin: u.origin(),
                            aliases: u.field_aliases(n),
                            generated: u.generated(n),
                        };
                        checks.push(pair(texts, Some(m), role, &user, kernel));
                    }
                    Ok(None) => {}
                    Err(e) => findings.push(InputError::new(u.origin(), None, e).to_finding()),
                }
            }
        }
    }
    checks
}

/// `--pair USER=BTF`: a user type against a BTF type of any input, by name.
fn pair_checks(args: &AnalyzeOptions, case: &mut Case) -> Result<Vec<PairCheck>> {
    let mut checks = Vec::new();
    for spec in &args.pairs {
        let (user_name, btf_name) = (spec.user.as_str(), spec.btf.as_str());
        let Some(user) = find_user(&case.users, user_name)? else {
            return Err(no_user_type_in(user_name, &case.users));
        };
        let (kernel, origin) = btf_type_by_name(case, btf_name)?;
        let mut check = pair(&mut case.texts, None, Role::Value, &user, &kernel);
        check.kernel_origin = origin;
        checks.push(check);
    }
    Ok(checks)
}

/// What the dumped bytes show, with the map's layouts where known (dumps of
/// maps outside `--map` are left out). Dumps a bundle's reading checked
/// already give their findings; the others are checked here, and every dump
/// leaves only its findings and keys. Returns the entries per map for the
/// summary; with several dumps of one map, the first counts.
fn dump_findings(
    args: &AnalyzeOptions,
    case: &mut Case,
    findings: &mut Vec<Finding>,
) -> HashMap<(Option<u32>, String), u64> {
    let mut entries = HashMap::new();
    for d in &mut case.dumps {
        let map = d.map_in(&case.maps);
        if let DumpBody::Parsed(dump) = &d.body {
            let ctx = DumpContext {
                file: &d.file,
                map: map
                    .map(MapInstance::map_ref)
                    .or_else(|| d.map_name.clone().map(|name| MapRef { id: None, name })),
                key: map.and_then(|m| m.key_layout.as_deref()),
                value: map.and_then(|m| m.value_layout.as_deref()),
                map_type: map.and_then(|m| m.map_type),
                max_entries: map.and_then(|m| m.max_entries),
            };
            let mut checker = DumpChecker::new(ctx);
            checker.feed(dump);
            let checked = checker.finish();
            d.body = DumpBody::Checked(checked);
        }
        let DumpBody::Checked(checked) = &d.body else {
            continue;
        };
        if let Some(m) = map {
            if !is_selected(args, m) {
                continue;
            }
            entries
                .entry((m.id, m.name.clone()))
                .or_insert(checked.entries as u64);
        }
        findings.extend(checked.findings.iter().cloned());
    }
    entries
}

/// `--percpu-buffer MAP=BYTES`: a user-space per-CPU value buffer against
/// `possible_cpus × round_up(value_size, 8)`.
fn percpu_buffer_findings(args: &AnalyzeOptions, case: &Case) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for spec in &args.percpu_buffers {
        let (name, bytes) = (spec.map.as_str(), spec.bytes);
        let m = case
            .maps
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| InputError::new(name, None, "no map of this name in the inputs"))?;
        let cpus = args.possible_cpus.or(case.possible_cpus).ok_or_else(|| {
            InputError::new(
                "--percpu-buffer",
                None,
                "the possible-CPU count is unknown: give a bundle or --possible-cpus N",
            )
        })?;
        let value_size = m
            .value_size
            .ok_or_else(|| InputError::new(name, None, "the map's value size is unknown"))?;
        findings.extend(check_percpu_buffer(
            cpus,
            value_size,
            bytes,
            Some(m.map_ref()),
        ));
    }
    Ok(findings)
}

/// Why traced calls failed (against the dumps taken right after the trace),
/// and which map instance is which (duplicate names, stale pins); findings
/// about a map outside `--map` are left out.
fn trace_and_map_findings(args: &AnalyzeOptions, case: &Case) -> Vec<Finding> {
    let selected_map = |f: &Finding| match &f.map {
        Some(m) if !args.maps.is_empty() => args.maps.iter().any(|w| names_map(w, &m.name, m.id)),
        _ => true,
    };
    let mut findings = Vec::new();
    for t in &case.traces {
        let dumps = case
            .dumps
            .iter()
            .filter_map(|d| match &d.body {
                DumpBody::Checked(c) => d.map_id.map(|id| (id, &c.keys)),
                DumpBody::Parsed(_) => None,
            })
            .collect();
        let ctx = TraceContext {
            file: &t.file,
            maps: &case.maps,
            pins: &case.pins,
            dumps,
        };
        findings.extend(lookups::explain(&t.calls, &ctx));
    }
    let holders = maps::Holders::new(
        case.manifest.as_ref().is_some_and(holders_complete),
        case.map_fds.iter().map(|(k, v)| (*k, *v)),
        case.traces.iter().flat_map(|t| &t.calls),
    );
    findings.extend(maps::duplicate_names(&case.maps, &case.pins, &holders));
    findings.extend(maps::stale_pins(&case.maps, &case.pins));
    findings.retain(selected_map);
    findings
}

/// Whether a bundle shows what holds its maps: fdinfo of every process
/// holding BPF fds, and every pin. A live program is always held by
/// something: a process's program or link fd, a pinned program or link, or
/// something no bundle shows (a cgroup or netdev it was attached to without
/// a link). When some program is held by nothing the bundle shows (collected
/// with `--pid`, fds in processes it could not read, such attachments), a
/// map held by nothing the bundle shows may still be held too.
fn holders_complete(m: &crate::bundle::Manifest) -> bool {
    let mut held: std::collections::HashSet<u32> = m
        .processes
        .iter()
        .flat_map(|p| &p.fds)
        .filter_map(|f| f.prog_id)
        .collect();
    for pin in &m.pins {
        match pin.kind.as_str() {
            "prog" => {
                held.insert(pin.id);
            }
            "link" => held.extend(m.links.iter().filter(|l| l.id == pin.id).map(|l| l.prog_id)),
            _ => {}
        }
    }
    m.progs.iter().all(|p| held.contains(&p.id))
}

/// The report's `maps[]`: every map of the inputs, with its key and value
/// type names (struct or scalar) and the entries dumped.
fn map_summaries(
    maps: &[MapInstance],
    entries: &HashMap<(Option<u32>, String), u64>,
    owners: &Owners,
) -> Vec<MapSummary> {
    maps.iter()
        .map(|m| MapSummary {
            programs: m.id.map(|id| owners.programs_of(id)).unwrap_or_default(),
            holders: m
                .id
                .and_then(|id| owners.map_holders.get(&id).cloned())
                .unwrap_or_default(),
            pins: m
                .id
                .and_then(|id| owners.map_pins.get(&id).cloned())
                .unwrap_or_default(),
            id: m.id,
            name: m.name.clone(),
            map_type: m.map_type.map(|t| t.name()),
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            key_type: m
                .key_layout
                .as_ref()
                .map(|l| l.display_name())
                .or_else(|| m.key_scalar.as_ref().map(|s| s.name.clone()))
                // A global data map's key has no BTF type: an array index.
                .or_else(|| {
                    m.value_layout
                        .as_ref()
                        .filter(|l| l.is_datasec())
                        .map(|_| "__u32 index".to_string())
                }),
            value_type: m
                .value_layout
                .as_ref()
                .map(|l| l.display_name())
                .or_else(|| m.value_scalar.as_ref().map(|s| s.name.clone())),
            entries: entries.get(&(m.id, m.name.clone())).copied(),
            key_layout: m.key_layout.clone(),
            value_layout: m.value_layout.clone(),
        })
        .collect()
}

/// Who owns what on the node a bundle was collected from: each program with
/// its maps, the process fds and pins that hold programs and maps. Indexed
/// by id once, so tying maps to programs is linear in the manifest's size.
#[derive(Debug, Default)]
struct Owners {
    programs: Vec<ProgramSummary>,
    /// Map id → the programs (indices into `programs`) that use it.
    map_users: HashMap<u32, Vec<usize>>,
    map_holders: HashMap<u32, Vec<Holder>>,
    map_pins: HashMap<u32, Vec<String>>,
}

impl Owners {
    fn of(manifest: Option<&crate::bundle::Manifest>) -> Owners {
        let Some(m) = manifest else {
            return Owners::default();
        };
        let mut o = Owners::default();
        let mut prog_holders: HashMap<u32, Vec<Holder>> = HashMap::new();
        for p in &m.processes {
            for fd in &p.fds {
                let holder = Holder {
                    pid: p.pid,
                    comm: p.comm.clone(),
                    fd: fd.fd,
                };
                match (fd.kind.as_str(), fd.map_id, fd.prog_id) {
                    ("map", Some(id), _) => o.map_holders.entry(id).or_default().push(holder),
                    ("prog", _, Some(id)) => prog_holders.entry(id).or_default().push(holder),
                    _ => {}
                }
            }
        }
        let mut prog_pins: HashMap<u32, Vec<String>> = HashMap::new();
        for pin in &m.pins {
            match pin.kind.as_str() {
                "map" => o.map_pins.entry(pin.id).or_default().push(pin.path.clone()),
                "prog" => prog_pins.entry(pin.id).or_default().push(pin.path.clone()),
                _ => {}
            }
        }
        let mut progs: Vec<&crate::bundle::ProgRecord> = m.progs.iter().collect();
        progs.sort_by_key(|p| p.id);
        progs.dedup_by_key(|p| p.id);
        for p in progs {
            let i = o.programs.len();
            let mut map_ids = p.map_ids.clone();
            map_ids.sort_unstable();
            map_ids.dedup();
            for id in &map_ids {
                o.map_users.entry(*id).or_default().push(i);
            }
            let mut holders = prog_holders.remove(&p.id).unwrap_or_default();
            holders.sort();
            let mut pins = prog_pins.remove(&p.id).unwrap_or_default();
            pins.sort();
            o.programs.push(ProgramSummary {
                id: p.id,
                name: p.name.clone(),
                prog_type: p.prog_type.clone(),
                tag: p.tag.clone(),
                map_ids,
                holders,
                pins,
            });
        }
        for v in o.map_holders.values_mut() {
            v.sort();
            v.dedup();
        }
        for v in o.map_pins.values_mut() {
            v.sort();
            v.dedup();
        }
        o
    }

    fn programs_of(&self, map_id: u32) -> Vec<ProgramRef> {
        self.map_users
            .get(&map_id)
            .into_iter()
            .flatten()
            .map(|&i| {
                let p = &self.programs[i];
                ProgramRef {
                    id: p.id,
                    name: p.name.clone(),
                    prog_type: p.prog_type.clone(),
                    tag: p.tag.clone(),
                }
            })
            .collect()
    }
}

/// The unknown-type error, naming every user-type source that was searched.
fn no_user_type_in(name: &str, users: &[Box<dyn UserTypes>]) -> crate::engine::error::EngineError {
    let looked = if users.is_empty() {
        "no user-type source (Go source, DWARF binary, schema) was given".to_string()
    } else {
        format!(
            "looked in {}",
            users
                .iter()
                .map(|u| u.origin())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    InputError::new(
        name,
        None,
        format!("no user-space type of this name in the inputs ({looked})"),
    )
    .into()
}

/// A user type against a map's key or value type that is not a struct
/// (`__u32`, an enum): sizes first; a user struct of one member is compared
/// member against type (width, signedness, kind); a user struct of several
/// members of the right total size is accepted as raw bytes, with a note.
fn scalar_pair(
    texts: &mut HashMap<String, Arc<str>>,
    m: &MapInstance,
    role: Role,
    user: &UserType,
    scalar: &ScalarType,
) -> PairCheck {
    let kernel = Arc::new(scalar.as_layout(role.as_str()));
    if user.layout.size != kernel.size {
        // Only the size speaks: member by member would restate it.
        return pair_with(texts, Some(m), role, user, &kernel, check_pair_size);
    }
    let several = user.layout.members.len() > 1;
    let mut check = pair(texts, Some(m), role, user, &kernel);
    if several {
        // Field by field means nothing against one integer: keep the size verdict.
        check.findings.clear();
        check.verdict = "match";
        check.notes = vec![format!(
            "user `{}` ({} fields, {} bytes) compared by size with BTF {}: its bytes are taken as one {}",
            user.layout.name,
            user.layout.members.len(),
            user.layout.size,
            scalar.name,
            scalar.ty.kind_str()
        )];
    }
    check
}

/// Reads the source files a user layout's declarations point at (at most
/// 1 MiB each, only those that exist here), for snippets in the report.
fn load_texts(layout: &Layout, texts: &mut HashMap<String, Arc<str>>) {
    fn walk<'l>(l: &'l Layout, files: &mut Vec<&'l str>) {
        files.extend(l.source.iter().map(|s| s.file.as_str()));
        for m in &l.members {
            files.extend(m.source.iter().map(|s| s.file.as_str()));
            if let FieldType::Aggregate(inner) = &m.ty {
                walk(inner, files);
            }
        }
    }
    let mut files = Vec::new();
    walk(layout, &mut files);
    for f in files {
        if texts.contains_key(f) {
            continue;
        }
        if let Ok(bytes) = crate::ingest::read::read_file(
            std::path::Path::new(f),
            crate::limits::MAX_SNIPPET_SOURCE_BYTES,
        ) {
            if let Ok(text) = String::from_utf8(bytes) {
                texts.insert(f.to_string(), text.into());
            }
        }
    }
}

fn pair(
    texts: &mut HashMap<String, Arc<str>>,
    m: Option<&MapInstance>,
    role: Role,
    user: &UserType,
    kernel: &Arc<Layout>,
) -> PairCheck {
    pair_with(texts, m, role, user, kernel, check_pair)
}

fn pair_with(
    texts: &mut HashMap<String, Arc<str>>,
    m: Option<&MapInstance>,
    role: Role,
    user: &UserType,
    kernel: &Arc<Layout>,
    check: fn(&LayoutPair<'_>) -> PairCheck,
) -> PairCheck {
    // A ring buffer's or perf event array's value type is one record's
    // layout; the map's value_size says nothing about it.
    let records = m.is_some_and(|m| m.map_type.is_some_and(|t| t.carries_records()));
    let map_size = m.filter(|_| !records).and_then(|m| match role {
        Role::Key => m.key_size,
        Role::Value => m.value_size,
    });
    load_texts(&user.layout, texts);
    let pair = LayoutPair {
        map: m.map(MapInstance::map_ref),
        role,
        user: &user.layout,
        user_origin: user.origin.clone(),
        user_aliases: &user.aliases,
        kernel,
        kernel_origin: m
            .and_then(|m| m.btf_origin.clone())
            .unwrap_or_else(|| "BTF".into()),
        map_size,
        texts,
    };
    match &user.generated {
        // Against the BTF type it was generated from: as its generator writes it.
        Some(g) if generated_name(g, &kernel.name) == user.layout.name => {
            bpf2go::check_generated(&pair, g)
        }
        _ => check(&pair),
    }
}

/// Lays out the struct or union `name` from the first BTF input that has it.
fn btf_type_by_name(case: &Case, name: &str) -> Result<(Arc<Layout>, String)> {
    let bare = name
        .trim_start_matches("struct ")
        .trim_start_matches("union ");
    for src in &case.btf_sources {
        let Ok(btf) = Btf::parse(&src.data) else {
            continue;
        };
        let found = btf.local_types().find(|t| {
            t.name == bare && matches!(t.kind, BtfKind::Struct | BtfKind::Union | BtfKind::Typedef)
        });
        if let Some(t) = found {
            let mut engine = BtfLayouts::new(&btf);
            if let Ok(l) = engine.layout(t.id) {
                return Ok((l, src.origin.clone()));
            }
        }
    }
    Err(InputError::new(
        name,
        None,
        "no BTF struct or union of this name in the inputs",
    )
    .into())
}

/// `Finding`s from `CheckSummary` are already moved out; this keeps the
/// remaining record small.
impl From<PairCheck> for CheckSummary {
    fn from(c: PairCheck) -> Self {
        CheckSummary {
            map: c.map,
            role: c.role.as_str().to_string(),
            user_type: c.user_type,
            user_origin: c.user_origin,
            btf_type: c.kernel_type,
            btf_origin: c.kernel_origin,
            verdict: c.verdict.to_string(),
            notes: c.notes,
            user_location: c.user_location,
        }
    }
}

/// The name `g`'s tool gives the BTF type `btf_name` (bpf2go: stem +
/// identifier, `bpfSkKey` for `sk_key`).
fn generated_name(g: &Generated, btf_name: &str) -> String {
    format!("{}{}", g.stem, gosrc_bpf2go::identifier(btf_name))
}

/// Generated user types that no map's key or value paired (bpf2go's
/// `-type NAME`, e.g. a ring-buffer event only declared through a pointer),
/// compared with the BTF struct or union they were generated from.
fn unmapped_generated(
    case: &mut Case,
    done: &[PairCheck],
    findings: &mut Vec<Finding>,
) -> Vec<PairCheck> {
    let mut wanted: Vec<(usize, String, Generated)> = Vec::new();
    for (i, u) in case.users.iter().enumerate() {
        for n in u.type_names() {
            let Some(g) = u.generated(&n) else { continue };
            let compared = done
                .iter()
                .any(|c| c.user_type == n && c.user_origin == u.origin());
            if !compared {
                wanted.push((i, n, g));
            }
        }
    }
    let mut out = Vec::new();
    if wanted.is_empty() {
        return out;
    }
    for src in &case.btf_sources {
        let Ok(btf) = Btf::parse(&src.data) else {
            continue;
        };
        let mut engine = BtfLayouts::new(&btf);
        for t in btf.local_types() {
            if !matches!(t.kind, BtfKind::Struct | BtfKind::Union | BtfKind::Typedef)
                || t.name.is_empty()
            {
                continue;
            }
            let Some(pos) = wanted
                .iter()
                .position(|(_, n, g)| generated_name(g, t.name) == *n)
            else {
                continue;
            };
            let Ok(kernel) = engine.layout(t.id) else {
                continue;
            };
            let (i, n, _) = wanted.swap_remove(pos);
            let u = &case.users[i];
            match u.layout(&n) {
                Ok(Some(layout)) => {
                    let user = UserType {
                        layout,
                        origin: u.origin(),
                        aliases: u.field_aliases(&n),
                        generated: u.generated(&n),
                    };
                    let mut check = pair(&mut case.texts, None, Role::Value, &user, &kernel);
                    check.kernel_origin = src.origin.clone();
                    out.push(check);
                }
                Ok(None) => {}
                Err(e) => findings.push(InputError::new(u.origin(), None, e).to_finding()),
            }
        }
    }
    // A generated type mirroring no BTF type of the inputs, in a source whose
    // other types were compared (a source that compared nothing is one
    // `input/unused` of its own): a stale file, or one from another object.
    for (i, n, g) in wanted {
        let origin = case.users[i].origin();
        let used = done.iter().chain(&out).any(|c| c.user_origin == origin);
        if case.btf_sources.is_empty() || !used {
            continue;
        }
        let c_name = n.strip_prefix(g.stem.as_str()).unwrap_or(&n);
        findings.push(
            Finding::new(
                Code::InputUnused,
                Severity::Warning,
                format!(
                    "{} type `{n}` ({}) mirrors no BTF type of the inputs: no struct or union there is `{c_name}` in {}'s spelling (stem `{}` + `{c_name}`); the file is stale or was generated from another object",
                    g.tool, g.file, g.tool, g.stem
                ),
            )
            .with_evidence(serde_json::json!({
                "user_type": n,
                "user_origin": origin,
                "generator": g.tool,
                "generated_file": g.file,
                "stem": g.stem,
                "btf_sources": case.btf_sources.iter().map(|b| b.origin.clone()).collect::<Vec<_>>(),
            }))
            .with_fix(format!(
                "Regenerate {} (go generate) from the BPF source these inputs were built from, or give the object it was generated from.",
                g.file
            )),
        );
    }
    out
}

#[cfg(test)]
mod pass_order {
    use super::PASSES;

    /// The accounting sees every other pass's work; weighing comes after
    /// the passes whose findings it weighs.
    #[test]
    fn accounting_is_last_and_weighing_follows_the_finders() {
        let names: Vec<&str> = PASSES.iter().map(|p| p.name).collect();
        assert!(names.last().unwrap().starts_with("accounting"), "{names:?}");
        let at = |prefix: &str| names.iter().position(|n| n.starts_with(prefix)).unwrap();
        for finder in ["layouts", "dumps", "traced", "growth", "program code"] {
            assert!(at(finder) < at("weighing"), "{finder} after weighing");
        }
        assert!(at("redaction") < at("weighing"));
    }
}
