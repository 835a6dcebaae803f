//! The `detail` of the FastAPI-shaped error bodies (AgentOS, AG-UI, Codegen)
//! as the OpenAPI document shows it: a message, or on 422 FastAPI's list of
//! validation errors. One schema, so the three documents cannot drift from
//! each other or from the wire. Documentation only: no request touches it.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};

/// `string | [{loc, msg, type, input?}]`.
pub fn detail_schema() -> RefOr<Schema> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let issue = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "loc",
            ArrayBuilder::new().items(
                OneOfBuilder::new()
                    .item(string())
                    .item(ObjectBuilder::new().schema_type(Type::Integer)),
            ),
        )
        .property("msg", string())
        .property("type", string())
        .property(
            "input",
            ObjectBuilder::new()
                .schema_type(SchemaType::AnyValue)
                .description(Some("The value refused")),
        )
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
