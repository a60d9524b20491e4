//! What a browser does with the API's files: POST a presigned upload form to S3 (moto's), and
//! follow a download's 302 to its presigned GET. Used by the files tests and the cost bench.

use serde_json::Value;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// POSTs the presigned form `upload` (`{url, fields}`) with `body` as its file, as a browser
/// does, and answers S3's status; `content_type` replaces the form's `Content-Type` field when
/// given (what S3 refuses, and moto stores).
pub async fn upload(upload: &Value, body: Vec<u8>, content_type: Option<&str>) -> u16 {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in upload["fields"].as_object().expect("fields") {
        let value = match (name.as_str(), content_type) {
            ("Content-Type", Some(replaced)) => replaced.to_owned(),
            _ => value.as_str().expect("a field value").to_owned(),
        };
        form = form.text(name.clone(), value);
    }
    // S3 reads the file from the last field.
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(body).file_name("upload.bin"),
    );
    client()
        .post(upload["url"].as_str().expect("url"))
        .multipart(form)
        .send()
        .await
        .expect("the upload reaches S3")
        .status()
        .as_u16()
}

/// GETs a download's `location` (its presigned S3 GET) and answers the object's response.
pub async fn download(location: &str) -> reqwest::Response {
    client()
        .get(location)
        .send()
        .await
        .expect("the presigned GET reaches S3")
}
