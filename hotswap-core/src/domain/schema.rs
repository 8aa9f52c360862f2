//! OpenAPI schemas of the validated strings, built from the same constants
//! as their parsers, so the document states exactly what is enforced
//! (`names.rs` proves each pattern equal to its parser). Fields name them
//! with `#[schema(schema_with = ...)]`; [`ModuleName`] and [`Region`] carry
//! theirs.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Object, RefOr, Schema};

use super::http_route;
use super::names::{
    MAX_MODULE_NAME_LEN, MAX_REGION_LEN, MODULE_NAME_PATTERN, REGION_PATTERN, SEMVER_PATTERN,
};
use super::{BucketName, MAX_NODE_NAME_LEN, MAX_ZONE_LEN, ModuleName, Region};

fn text(pattern: &str, max_len: Option<usize>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .pattern(Some(pattern))
        .min_length(Some(1))
        .max_length(max_len)
        .description(Some(description))
        .build()
}

/// `schema`, or null (an optional field that may be sent as `null`).
fn or_null(mut schema: Object) -> Object {
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

/// A module name.
pub fn module_name() -> Object {
    text(
        MODULE_NAME_PATTERN,
        Some(MAX_MODULE_NAME_LEN),
        "Module name: lowercase letters and digits in words joined by single `-`, `_` or `.`, starting with a letter",
    )
}

/// A region name.
pub fn region() -> Object {
    text(
        REGION_PATTERN,
        Some(MAX_REGION_LEN),
        "Region: lowercase letters and digits in words joined by single `-`",
    )
}

/// A region name, or null.
pub fn region_or_null() -> Object {
    or_null(region())
}

/// A node name (DNS-label style).
pub fn node_name() -> Object {
    text(
        REGION_PATTERN,
        Some(MAX_NODE_NAME_LEN),
        "Node name: lowercase letters and digits in words joined by single `-`",
    )
}

/// A zone name, or null.
pub fn zone_or_null() -> Object {
    or_null(text(
        REGION_PATTERN,
        Some(MAX_ZONE_LEN),
        "Zone: lowercase letters and digits in words joined by single `-`",
    ))
}

/// A semantic version (semver 2.0.0, no leading `v`).
pub fn semver() -> Object {
    text(
        SEMVER_PATTERN,
        None,
        "Semantic version (semver 2.0.0), e.g. `1.2.3` or `2.0.0-rc.1`",
    )
}

/// A semantic version, or null.
pub fn semver_or_null() -> Object {
    or_null(semver())
}

/// Who did something: a user or token subject, not blank, without
/// control characters.
pub fn actor() -> Object {
    text(
        ACTOR_PATTERN,
        Some(super::MAX_ACTOR_LEN),
        "A user or token subject: not blank, no control characters",
    )
}

/// Not blank, no control characters (C0, DEL, C1).
const ACTOR_PATTERN: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

/// An edge node's base URL: `http://` or `https://`, a host, no white
/// space or control characters.
pub fn endpoint() -> Object {
    text(
        super::ENDPOINT_PATTERN,
        Some(super::MAX_ENDPOINT_LEN),
        "Base URL: http:// or https://, a host, no white space",
    )
}

/// [`endpoint`], or null.
pub fn endpoint_or_null() -> Object {
    or_null(endpoint())
}

/// Labels written `key=value,key=value` (a query parameter), or empty for
/// none.
pub fn labels_text() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .pattern(Some(LABELS_TEXT_PATTERN))
        .description(Some(
            "Labels as `key=value,key=value`: keys of [a-z0-9] with `-` `_` `.` `/` inside, values without `,` or control characters, at most 64 pairs",
        ))
        .build()
}

/// One to 64 `key=value` pairs joined by `,`, or nothing. Keys and values
/// as [`super::Labels`] takes them (a value cannot hold `,` here).
const LABELS_TEXT_PATTERN: &str = r"^([a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?=[^,\x00-\x1f\x7f-\x9f]{0,255}(,[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?=[^,\x00-\x1f\x7f-\x9f]{0,255}){0,63})?$";

/// A route's host as a client writes it (normalized on the way in).
pub fn host_input() -> Object {
    text(
        http_route::HOST_INPUT_PATTERN,
        Some(http_route::MAX_HOST_LEN),
        "Host: `*` for any, or a DNS name or IPv4 address without port (lowercased, trailing dots dropped)",
    )
}

/// A route's host in normal form.
pub fn host() -> Object {
    text(
        http_route::HOST_PATTERN,
        Some(http_route::MAX_HOST_LEN),
        "Host in normal form: `*`, or a lowercase DNS name or IPv4 address without port",
    )
}

/// A route's path prefix as a client writes it, or null for every path.
pub fn path_prefix_input_or_null() -> Object {
    or_null(text(
        http_route::PATH_PREFIX_INPUT_PATTERN,
        Some(http_route::MAX_PATH_PREFIX_LEN),
        "Path prefix: `/`-separated segments, none empty, `.` or `..`, no query, fragment or white space (trailing slashes dropped)",
    ))
}

/// A route's path prefix in normal form.
pub fn path_prefix() -> Object {
    text(
        http_route::PATH_PREFIX_PATTERN,
        Some(http_route::MAX_PATH_PREFIX_LEN),
        "Path prefix in normal form: `/`, or segments without a trailing `/`",
    )
}

/// A WIT package name, `namespace:name`.
pub fn package_name() -> Object {
    text(
        crate::interface::PACKAGE_NAME_PATTERN,
        Some(crate::interface::MAX_PACKAGE_NAME_LEN),
        "WIT package name `namespace:name`, e.g. `hotswap:demo`",
    )
}

/// An integer from `min` to `max`.
fn integer(min: u64, max: u64, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .minimum(Some(utoipa::Number::UInt(min as usize)))
        .maximum(Some(utoipa::Number::UInt(max as usize)))
        .description(Some(description))
        .build()
}

/// [`super::ResourceLimits::max_memory_bytes`].
pub fn memory_bytes() -> Object {
    integer(
        super::WASM_PAGE_BYTES,
        super::MAX_MEMORY_BYTES,
        "Largest linear memory of one instance, in bytes (64 KiB to 4 GiB)",
    )
}

/// [`super::ResourceLimits::fuel`], or null for unmetered calls.
pub fn fuel_or_null() -> Object {
    let mut schema = integer(1, u64::MAX, "Fuel per call; null for unmetered calls");
    schema.schema_type = SchemaType::from_iter([Type::Integer, Type::Null]);
    schema
}

/// [`super::ResourceLimits::timeout_ms`].
pub fn timeout_ms() -> Object {
    integer(
        1,
        super::MAX_TIMEOUT_MS,
        "Wall-clock timeout of one call, in milliseconds (1 ms to 15 min)",
    )
}

/// [`super::ResourceLimits::max_concurrent_instances`].
pub fn concurrent_instances() -> Object {
    integer(
        1,
        super::MAX_CONCURRENT_INSTANCES.into(),
        "Instances of the version that may run at once on one node",
    )
}

/// [`super::ResourceLimits::max_stack_bytes`].
pub fn stack_bytes() -> Object {
    integer(
        super::MIN_STACK_BYTES,
        super::MAX_STACK_BYTES,
        "Largest wasm stack of one call, in bytes (16 KiB to 64 MiB)",
    )
}

/// A list of semantic versions.
pub fn semver_list() -> utoipa::openapi::Array {
    utoipa::openapi::Array::new(semver())
}

impl utoipa::PartialSchema for ModuleName {
    fn schema() -> RefOr<Schema> {
        module_name().into()
    }
}

impl utoipa::ToSchema for ModuleName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ModuleName")
    }
}

impl utoipa::PartialSchema for super::ShortName {
    fn schema() -> RefOr<Schema> {
        text(
            super::analysis::SHORT_NAME_PATTERN,
            Some(super::analysis::MAX_SHORT_NAME_LEN),
            "A short name: lowercase letters and digits in words joined by single `-`, starting with a letter",
        )
        .into()
    }
}

impl utoipa::ToSchema for super::ShortName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ShortName")
    }
}

impl utoipa::PartialSchema for BucketName {
    fn schema() -> RefOr<Schema> {
        text(
            super::names::BUCKET_NAME_PATTERN,
            Some(super::names::MAX_BUCKET_NAME_LEN),
            "Key-value bucket: lowercase letters and digits in words joined by single `-`, `_` or `.`",
        )
        .into()
    }
}

impl utoipa::ToSchema for BucketName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("BucketName")
    }
}

impl utoipa::PartialSchema for Region {
    fn schema() -> RefOr<Schema> {
        region().into()
    }
}

impl utoipa::ToSchema for Region {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Region")
    }
}

impl utoipa::PartialSchema for super::OutboundRule {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(
                "An allowed destination, `scheme://host[:port]`: scheme http, https or *; \
                 host a DNS name, `*.name` for its subdomains only, an IPv4 address or \
                 [IPv6]; port a number or * (the scheme's default when absent)",
            ))
            .examples(["https://*.example.com"])
            .build()
            .into()
    }
}

impl utoipa::ToSchema for super::OutboundRule {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OutboundRule")
    }
}
