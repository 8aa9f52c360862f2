//! WIT text: parsing with wit-parser (errors name the line and column), and
//! the interface of a binary as WIT, decoded from a component or
//! synthesized from a core module's imports and exports.

use std::fmt::Write as _;

use semver::Version;
use wit_parser::{PackageId, Resolve};

use super::PackageName;
use hotswap_core::error::{Error, Result};

/// The file name WIT text is parsed under (it appears in error messages).
pub(crate) const SOURCE: &str = "interface.wit";

/// A WIT package parsed and resolved: its name and the names of what it
/// defines. Dependencies written inline (`package a:b { ... }` blocks)
/// resolve too.
#[derive(Clone, Debug)]
pub struct ParsedWit {
    /// The resolved packages (the main one and any inline dependencies).
    pub resolve: Resolve,
    /// The main package.
    pub package: PackageId,
}

impl ParsedWit {
    /// The main package's name (`namespace:name`) and version.
    pub fn name(&self) -> Result<(PackageName, Option<Version>)> {
        let name = &self.resolve.packages[self.package].name;
        let package = PackageName::new(format!("{}:{}", name.namespace, name.name))?;
        Ok((package, name.version.clone()))
    }

    /// The main package's interfaces, by name, in declaration order.
    pub fn interfaces(&self) -> Vec<&str> {
        self.resolve.packages[self.package]
            .interfaces
            .keys()
            .map(String::as_str)
            .collect()
    }

    /// The main package's worlds, by name, in declaration order.
    pub fn worlds(&self) -> Vec<&str> {
        self.resolve.packages[self.package]
            .worlds
            .keys()
            .map(String::as_str)
            .collect()
    }
}

/// Parse and resolve WIT text. A syntax or resolution error is
/// `Invalid { field: "wit" }` whose reason starts with the line and column.
pub fn parse_wit(text: &str) -> Result<ParsedWit> {
    // Keep `@unstable` items: the compatibility check decides which count.
    let mut resolve = Resolve {
        all_features: true,
        ..Resolve::default()
    };
    // wit-parser 0.254 panics on the empty doc comment `/**/` (found by
    // the wit_compat fuzz target): it is spelled as the plain comment
    // `/* */`, which means the same. Any other panic is malformed input too.
    let text = if text.contains("/**/") {
        std::borrow::Cow::Owned(text.replace("/**/", "/* */"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let pushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        resolve.push_str(SOURCE, &text)
    }));
    let Ok(pushed) = pushed else {
        return Err(Error::invalid(
            "wit",
            "the WIT parser could not read this text (it is malformed)",
        ));
    };
    match pushed {
        Ok(package) => {
            refuse_repeated_names(&resolve)?;
            Ok(ParsedWit { resolve, package })
        }
        Err(e) => Err(invalid_wit(&resolve.render_error(&e))),
    }
}

/// wit-parser accepts a record, variant, enum or flags naming one case or
/// field twice; no component can define such a type, and the checker
/// matches cases by name, so they are refused here, naming the type.
fn refuse_repeated_names(resolve: &Resolve) -> Result<()> {
    use wit_parser::TypeDefKind as K;
    for (_, ty) in resolve.types.iter() {
        let names: Vec<&str> = match &ty.kind {
            K::Record(r) => r.fields.iter().map(|f| f.name.as_str()).collect(),
            K::Variant(v) => v.cases.iter().map(|c| c.name.as_str()).collect(),
            K::Enum(e) => e.cases.iter().map(|c| c.name.as_str()).collect(),
            K::Flags(f) => f.flags.iter().map(|f| f.name.as_str()).collect(),
            _ => continue,
        };
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = names.iter().find(|n| !seen.insert(**n)) {
            let name = ty.name.as_deref().unwrap_or("an anonymous type");
            return Err(Error::invalid(
                "wit",
                format!("type {name} names {twice:?} twice"),
            ));
        }
    }
    Ok(())
}

/// wit-parser's rendered error as `Invalid`: the field is the file its
/// `--> file:line:column` pointer names (`wit` for a single text), and the
/// reason starts with `line L, column C:`.
pub(crate) fn invalid_wit(message: &str) -> Error {
    let position = message.lines().find_map(|line| {
        let rest = &line[line.find("--> ")? + 4..];
        let mut parts = rest.trim().rsplitn(3, ':');
        let column: u32 = parts.next()?.trim().parse().ok()?;
        let line: u32 = parts.next()?.trim().parse().ok()?;
        Some((parts.next()?.to_owned(), line, column))
    });
    let first = message.lines().next().unwrap_or(message).trim();
    match position {
        Some((file, line, column)) => {
            let field = if file == SOURCE {
                "wit".to_owned()
            } else {
                file
            };
            Error::invalid(
                field,
                format!("line {line}, column {column}: {first}\n{message}"),
            )
        }
        None => Error::invalid("wit", message),
    }
}

/// `package` of `resolve` as WIT text, every other package of `resolve`
/// nested in it as a `package … { … }` block.
pub(crate) fn printed(resolve: &Resolve, package: PackageId) -> Result<String> {
    let nested: Vec<PackageId> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != package)
        .collect();
    let mut printer = wit_component::WitPrinter::default();
    printer
        .print(resolve, package, &nested)
        .map_err(|e| Error::internal(format!("cannot print the WIT: {e:#}")))?;
    Ok(printer.output.to_string())
}

/// The interface of a binary as WIT text: a component's own world (decoded
/// with its types), or for a core module a synthesized world of
/// `package hotswap:core-module` whose imports and exports are the module's
/// functions (i32/i64/f32/f64 as s32/s64/f32/f64; functions with other
/// types, and non-function items, are listed in a comment).
pub fn extract_wit(bytes: &[u8]) -> Result<String> {
    if wasmparser::Parser::is_component(bytes) {
        component_wit(bytes)
    } else {
        core_wit(bytes)
    }
}

fn component_wit(bytes: &[u8]) -> Result<String> {
    let decoded = wit_parser::decoding::decode(bytes).map_err(|e| {
        Error::invalid(
            "wasm",
            format!("cannot decode the component's interface: {e:#}"),
        )
    })?;
    let (resolve, world) = match decoded {
        wit_parser::decoding::DecodedWasm::Component(resolve, world) => (resolve, world),
        wit_parser::decoding::DecodedWasm::WitPackage(..) => {
            return Err(Error::invalid(
                "wasm",
                "this is a WIT package encoded as wasm, not a component",
            ));
        }
    };
    let package = resolve.worlds[world]
        .package
        .ok_or_else(|| Error::internal("a decoded world has no package"))?;
    printed(&resolve, package)
}

fn core_wit(bytes: &[u8]) -> Result<String> {
    use wasmparser::types::EntityType;
    let types = wasmparser::Validator::new()
        .validate_all(bytes)
        .map_err(|e| Error::invalid("wasm", format!("invalid module: {}", e.message())))?;
    let types = types.as_ref();
    let signature = |ty: EntityType| -> Option<String> {
        let (EntityType::Func(id) | EntityType::FuncExact(id)) = ty else {
            return None;
        };
        let f = types[id].unwrap_func();
        let params: Option<Vec<String>> = f
            .params()
            .iter()
            .enumerate()
            .map(|(i, t)| Some(format!("p{i}: {}", wit_number(*t)?)))
            .collect();
        let results: Option<Vec<&str>> = f.results().iter().map(|t| wit_number(*t)).collect();
        let result = match results?.as_slice() {
            [] => String::new(),
            [one] => format!(" -> {one}"),
            many => format!(" -> tuple<{}>", many.join(", ")),
        };
        Some(format!("func({}){result}", params?.join(", ")))
    };
    let imports: Vec<(String, String, Option<String>)> = types
        .core_imports()
        .into_iter()
        .flatten()
        .map(|(module, name, ty)| (module.to_owned(), name.to_owned(), signature(ty)))
        .collect();
    let exports: Vec<(String, Option<String>)> = types
        .core_exports()
        .into_iter()
        .flatten()
        .map(|(name, ty)| (name.to_owned(), signature(ty)))
        .collect();
    let mut wit = String::from("package hotswap:core-module;\n\nworld module {\n");
    let mut skipped = Vec::new();
    let mut by_module: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (module, name, sig) in &imports {
        match sig {
            Some(sig) => by_module
                .entry(module.as_str())
                .or_default()
                .push(format!("    {}: {sig};", kebab(name))),
            None => skipped.push(format!("import {module}::{name}")),
        }
    }
    for (module, funcs) in &by_module {
        let _ = writeln!(wit, "  import {}: interface {{", kebab(module));
        for f in funcs {
            let _ = writeln!(wit, "  {f}");
        }
        wit.push_str("  }\n");
    }
    for (name, sig) in &exports {
        match sig {
            Some(sig) => {
                let _ = writeln!(wit, "  export {}: {sig};", kebab(name));
            }
            None => skipped.push(format!("export {name}")),
        }
    }
    wit.push_str("}\n");
    if !skipped.is_empty() {
        let _ = writeln!(wit, "\n// not functions of numbers: {}", skipped.join(", "));
    }
    Ok(wit)
}

fn wit_number(t: wasmparser::ValType) -> Option<&'static str> {
    match t {
        wasmparser::ValType::I32 => Some("s32"),
        wasmparser::ValType::I64 => Some("s64"),
        wasmparser::ValType::F32 => Some("f32"),
        wasmparser::ValType::F64 => Some("f64"),
        _ => None,
    }
}

/// A core name as a WIT identifier: lowercase words joined by `-`, with
/// `%` escaping names that are WIT keywords.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    let mut last_dash = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && !last_dash && !out.is_empty() {
                out.push('-');
            }
            // A WIT word may not start with a digit: glue it to the last.
            if c.is_ascii_digit() && out.ends_with('-') {
                out.pop();
            }
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        } else if !last_dash {
            out.push('-');
            last_dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    // A WIT word may not start with a digit.
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "x-");
    }
    format!("%{out}")
}
