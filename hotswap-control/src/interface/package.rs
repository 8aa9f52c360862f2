//! WIT packages as uploaded — one text, a directory with a `deps/` folder,
//! or a package encoded as wasm — resolved with their dependencies (from
//! the upload first, then from the packages already registered) into one
//! text: the main package followed by a nested `package … { … }` block for
//! each dependency, which [`super::parse_wit`] reads on its own.

use std::collections::BTreeMap;

use wit_parser::UnresolvedPackageGroup;
use wit_parser::{PackageName as WitName, Resolve, SourceMap, UnresolvedPackage};

use super::wit::{invalid_wit, printed};
use hotswap_core::error::{Error, Result};

/// One file of an uploaded WIT directory, by its path inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitFile {
    /// Relative, `/`-separated: `api.wit`, `deps/io/streams.wit`,
    /// `deps/clocks.wasm`.
    pub path: String,
    /// The file's bytes.
    pub contents: Vec<u8>,
}

/// A WIT package as uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitUpload {
    /// One WIT text (it may nest `package … { … }` blocks).
    Text(String),
    /// A WIT directory: the `*.wit` files at its root are the package; its
    /// `deps/` folder holds dependencies, each a directory of `*.wit`
    /// files, a single `.wit` file or a `.wasm`-encoded package. Other
    /// files are ignored, as `wit-parser` does. When no `*.wit` file is at
    /// the root and every path starts with the same folder, that folder is
    /// the root (an archive of `wit/`).
    Directory(Vec<WitFile>),
    /// A WIT package encoded as wasm (`wasm-tools component wit --wasm`).
    Wasm(Vec<u8>),
}

/// The packages of an upload, each parsed on its own, and those taken from
/// the registry for what the upload uses but does not hold.
pub(crate) struct PackageSet {
    main: WitName,
    packages: BTreeMap<WitName, Parsed>,
    /// The upload was one text and nothing was added to it.
    verbatim: Option<String>,
}

struct Parsed {
    package: UnresolvedPackage,
    source: SourceMap,
    /// Where it came from, for error messages.
    origin: String,
}

impl PackageSet {
    /// Parse every package of `upload`; dependencies are not resolved yet.
    pub(crate) fn from_upload(upload: WitUpload) -> Result<Self> {
        let (main, deps, verbatim) = match upload {
            WitUpload::Text(text) => {
                let group = parse_sources(vec![(super::wit::SOURCE.to_owned(), text.clone())])?;
                (("the WIT text".to_owned(), group), Vec::new(), Some(text))
            }
            WitUpload::Wasm(bytes) => {
                let text = decode_package(&bytes, "wasm")?;
                let group = parse_sources(vec![("package.wasm".to_owned(), text)])?;
                (
                    ("the wasm-encoded package".to_owned(), group),
                    Vec::new(),
                    None,
                )
            }
            WitUpload::Directory(files) => {
                let (main, deps) = directory_groups(files)?;
                (main, deps, None)
            }
        };
        let main_name = main.1.main.name.clone();
        let mut set = Self {
            main: main_name,
            packages: BTreeMap::new(),
            verbatim,
        };
        for (origin, group) in std::iter::once(main).chain(deps) {
            for (name, parsed) in split(group, &origin) {
                if let Some(first) = set.packages.get(&name) {
                    return Err(Error::invalid(
                        "wit",
                        format!(
                            "package {name} is defined twice in the upload: in {} and in {}",
                            first.origin, parsed.origin
                        ),
                    ));
                }
                set.packages.insert(name, parsed);
            }
        }
        Ok(set)
    }

    /// A package some package of the set uses but none defines, and its
    /// first user.
    pub(crate) fn missing(&self) -> Option<(WitName, WitName)> {
        self.packages.iter().find_map(|(user, p)| {
            p.package
                .foreign_deps
                .keys()
                .find(|dep| !self.packages.contains_key(*dep))
                .map(|dep| (dep.clone(), user.clone()))
        })
    }

    /// Add the packages of a registered version's text (`origin` names
    /// it) that the set does not define yet: what the upload holds wins.
    /// The text must define `wanted`.
    pub(crate) fn add_registered(
        &mut self,
        text: &str,
        origin: &str,
        wanted: &WitName,
    ) -> Result<()> {
        let group = parse_sources(vec![(origin.to_owned(), text.to_owned())])
            .map_err(|e| e.within("stored interface"))?;
        for (name, parsed) in split(group, origin) {
            self.packages.entry(name).or_insert(parsed);
        }
        if !self.packages.contains_key(wanted) {
            return Err(Error::internal(format!(
                "{origin} does not define {wanted}"
            )));
        }
        self.verbatim = None;
        Ok(())
    }

    /// Resolve the set and print it as one text: the upload's own text
    /// when it was one text that needed nothing added, else the main
    /// package with every other package nested.
    pub(crate) fn flatten(mut self) -> Result<String> {
        let main = self
            .packages
            .remove(&self.main)
            .ok_or_else(|| Error::internal("the main package left the set"))?;
        let deps: Vec<UnresolvedPackageGroup> = self.packages.into_values().map(group).collect();
        let mut resolve = Resolve {
            all_features: true,
            ..Resolve::default()
        };
        let pushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            resolve.push_groups(group(main), deps)
        }))
        .map_err(|_| Error::invalid("wit", "the WIT resolver failed on these packages"))?;
        let id = pushed.map_err(|e| invalid_wit(&e.render(&resolve.source_map)))?;
        if let Some(text) = self.verbatim {
            return Ok(text);
        }
        printed(&resolve, id)
    }
}

fn group(p: Parsed) -> UnresolvedPackageGroup {
    UnresolvedPackageGroup {
        main: p.package,
        nested: Vec::new(),
        source_map: p.source,
    }
}

/// Each package of `group` on its own, sharing the group's sources.
fn split(group: UnresolvedPackageGroup, origin: &str) -> Vec<(WitName, Parsed)> {
    let UnresolvedPackageGroup {
        main,
        nested,
        source_map,
    } = group;
    nested
        .into_iter()
        .chain([main])
        .map(|package| {
            let parsed = Parsed {
                origin: format!("{origin} (package {})", package.name),
                package,
                source: source_map.clone(),
            };
            (parsed.package.name.clone(), parsed)
        })
        .collect()
}

/// Parse `(path, text)` sources as one package (with any nested ones).
fn parse_sources(sources: Vec<(String, String)>) -> Result<UnresolvedPackageGroup> {
    let mut map = SourceMap::new();
    for (path, text) in sources {
        // wit-parser 0.254 panics on the empty doc comment `/**/`; the plain
        // comment `/* */` means the same (see `parse_wit`).
        map.push_str(&path, text.replace("/**/", "/* */"));
    }
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| map.parse()))
        .map_err(|_| Error::invalid("wit", "the WIT parser could not read this text"))?;
    parsed.map_err(|(map, e)| invalid_wit(&e.render(&map)))
}

/// A wasm-encoded WIT package printed as text.
fn decode_package(bytes: &[u8], field: &str) -> Result<String> {
    use wit_parser::decoding::{DecodedWasm, decode};
    match decode(bytes).map_err(|e| Error::invalid(field, format!("not a WIT package: {e:#}")))? {
        DecodedWasm::WitPackage(resolve, package) => printed(&resolve, package),
        DecodedWasm::Component(..) => Err(Error::invalid(
            field,
            "this is a component, not a WIT package encoded as wasm (register it as a module version)",
        )),
    }
}

/// An uploaded directory as the main package's group and its deps'
/// groups, each named by where it came from.
type Named = (String, UnresolvedPackageGroup);

fn directory_groups(files: Vec<WitFile>) -> Result<(Named, Vec<Named>)> {
    let mut files = files
        .into_iter()
        .map(|f| Ok((clean_path(&f.path)?, f.contents)))
        .collect::<Result<Vec<(Vec<String>, Vec<u8>)>>>()?;
    strip_common_folder(&mut files);
    let mut root = Vec::new();
    // deps/NAME/*.wit, by NAME; single-file deps under their file name.
    let mut dir_deps: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut deps: Vec<Named> = Vec::new();
    for (parts, contents) in files {
        let path = parts.join("/");
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        match parts.as_slice() {
            [file] if file.ends_with(".wit") => root.push((path.clone(), text(&path, contents)?)),
            ["deps", dir, file] if file.ends_with(".wit") => dir_deps
                .entry(format!("deps/{dir}/"))
                .or_default()
                .push((path.clone(), text(&path, contents)?)),
            ["deps", file] if file.ends_with(".wit") => {
                let group = parse_sources(vec![(path.clone(), text(&path, contents)?)])?;
                deps.push((path, group));
            }
            ["deps", file] if file.ends_with(".wasm") => {
                let printed = decode_package(&contents, &path)?;
                deps.push((path.clone(), parse_sources(vec![(path, printed)])?));
            }
            _ => {}
        }
    }
    if root.is_empty() {
        return Err(Error::invalid(
            "wit",
            "the upload has no .wit file at its root: put the package's *.wit files there and its dependencies under deps/",
        ));
    }
    for (dir, sources) in dir_deps {
        deps.push((dir, parse_sources(sources)?));
    }
    Ok((("the upload's root".to_owned(), parse_sources(root)?), deps))
}

fn text(path: &str, contents: Vec<u8>) -> Result<String> {
    String::from_utf8(contents).map_err(|_| Error::invalid(path, "is not UTF-8 text"))
}

/// A relative path's parts; `.` parts dropped, `..` and absolute paths
/// refused.
fn clean_path(path: &str) -> Result<Vec<String>> {
    let refuse = |why: &str| Error::invalid("path", format!("{path:?}: {why}"));
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Err(refuse("give a relative path with `/` between its parts"));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(refuse("`..` is not allowed")),
            p => parts.push(p.to_owned()),
        }
    }
    if parts.is_empty() {
        return Err(refuse("names no file"));
    }
    Ok(parts)
}

/// With no `*.wit` file at the root and one folder holding everything,
/// that folder is the root.
fn strip_common_folder(files: &mut [(Vec<String>, Vec<u8>)]) {
    let at_root = |p: &Vec<String>| p.len() == 1 && p[0].ends_with(".wit");
    if files.iter().any(|(p, _)| at_root(p)) {
        return;
    }
    let Some(first) = files.first().map(|(p, _)| p[0].clone()) else {
        return;
    };
    if first != "deps" && files.iter().all(|(p, _)| p.len() > 1 && p[0] == first) {
        for (p, _) in files.iter_mut() {
            p.remove(0);
        }
    }
}

/// The registered package a `use` names, as the registry spells it.
pub(crate) fn registry_name(name: &WitName) -> Result<super::PackageName> {
    super::PackageName::new(format!("{}:{}", name.namespace, name.name))
}

impl From<&str> for WitUpload {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for WitUpload {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}
