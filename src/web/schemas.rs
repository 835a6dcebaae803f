//! OpenAPI schemas several protocols share, written once so their documents
//! cannot drift from each other or from the wire: the `detail` of the
//! FastAPI-shaped error bodies (AgentOS, AG-UI, Codegen), a server-sent
//! event, a JSON-RPC id. Documentation only: no request touches them.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};

/// `string | [{loc, msg, type, input?}]`.
pub fn detail_schema() -> RefOr<Schema> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let issue = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("loc", loc_schema())
        .property("msg", string())
        .property("type", string())
        .property("input", input_schema())
        .required("loc")
        .required("msg")
        .required("type");
    let either = OneOfBuilder::new()
        .item(string().description(Some("What went wrong")))
        .item(
            ArrayBuilder::new()
                .items(issue)
                .description(Some("FastAPI's validation errors (422)")),
        )
        .build();
    RefOr::T(Schema::OneOf(either))
}

/// A validation error's `loc`: `["body", "messages", 0]`.
pub fn loc_schema() -> RefOr<Schema> {
    let part = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer));
    RefOr::T(Schema::Array(ArrayBuilder::new().items(part).build()))
}

/// A validation error's `input`: the value refused, of any type.
pub fn input_schema() -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .description(Some("The value refused"))
            .build(),
    ))
}

/// One server-sent event as the OpenAPI document shows a `text/event-stream`
/// response: its fields, with `data` a JSON document in text (each
/// protocol's event object). Tools that check streams (schemathesis) read
/// every event against it.
pub struct SseEvent;

impl utoipa::PartialSchema for SseEvent {
    fn schema() -> RefOr<Schema> {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let event = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("One server-sent event"))
            .property(
                "id",
                string().description(Some("Where a client resumes (Last-Event-ID)")),
            )
            .property(
                "event",
                string().description(Some("The event's name, where the protocol sends one")),
            )
            .property(
                "data",
                string()
                    .content_media_type("application/json")
                    .description(Some("The protocol's event object, as JSON")),
            )
            .property("retry", ObjectBuilder::new().schema_type(Type::Integer))
            .required("data")
            .build();
        RefOr::T(Schema::Object(event))
    }
}

impl utoipa::ToSchema for SseEvent {}

/// A JSON-RPC id as it comes back: the request's string or number, or null
/// when the request's id could not be read.
pub fn jsonrpc_id_schema() -> RefOr<Schema> {
    let either = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .build();
    RefOr::T(Schema::OneOf(either))
}
