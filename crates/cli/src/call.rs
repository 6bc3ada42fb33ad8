//! `fastrpc call`: one call, the reply and its metadata printed as JSON.

use crate::args::{CallArgs, Output};
use crate::payload::{decode_reply, encode_args, read_source, serialize_type};
use crate::target::{CallFailure, Target, call_options};
use fastrpc::{Metadata, Raw};
use serde_json::{Map, Value, json};

/// Runs `fastrpc call`. `Err(CallFailure)` carries what decides the exit status.
pub(crate) async fn run(args: CallArgs, output: Output) -> Result<(), CallFailure> {
    let t = &args.target;
    let (service, method) = t.service_method().map_err(CallFailure::Other)?;
    let source = read_source(&t.args).map_err(CallFailure::Other)?;
    let payload = Raw(encode_args(t.serialize, &source).map_err(CallFailure::Other)?);
    let target = Target::connect(t, service)
        .await
        .map_err(CallFailure::Other)?;
    let opts = call_options(t, t.timeout);
    if args.oneway {
        target.oneway(service, method, &payload, opts).await?;
        print(output, &json!({ "oneway": true }));
        return Ok(());
    }
    match target.call(service, method, &payload, opts).await {
        Ok(reply) => {
            let value = decode_reply(serialize_type(t.serialize), &reply.payload);
            print(
                output,
                &json!({ "reply": value, "metadata": metadata_json(&reply.metadata) }),
            );
            Ok(())
        }
        Err(CallFailure::Remote(e)) => {
            if output == Output::Json {
                let reply = decode_reply(e.serialize_type, &e.payload);
                print(
                    output,
                    &json!({ "error": e.message, "reply": reply, "metadata": metadata_json(&e.metadata) }),
                );
            }
            Err(CallFailure::Remote(e))
        }
        Err(other) => Err(other),
    }
}

/// Metadata as a JSON object.
pub(crate) fn metadata_json(md: &Metadata) -> Value {
    Value::Object(
        md.iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect::<Map<_, _>>(),
    )
}

/// Prints a result: pretty JSON for people, one line for scripts.
fn print(output: Output, v: &Value) {
    let text = match output {
        Output::Text => serde_json::to_string_pretty(v),
        Output::Json => serde_json::to_string(v),
    };
    println!("{}", text.unwrap_or_default());
}
