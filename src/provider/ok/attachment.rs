//! The publish widget's attachment (a media topic), checked against OK's documented rules
//! before anything is signed, so a site learns what is wrong from the gateway with one
//! precise message instead of from a widget that fails in the person's browser.

use serde_json::{Map, Value};

/// Poll options OK knows.
const POLL_OPTIONS: [&str; 3] = ["SingleChoice", "AnonymousVoting", "ResultsAfterVoting"];

/// Checks an attachment; the error names the media item and the rule it breaks.
pub fn check(attachment: &Value) -> Result<(), String> {
    let media = attachment
        .as_object()
        .ok_or("the attachment must be a JSON object with `media`")?
        .get("media")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("`media` must be a non-empty list")?;
    let mut seen: Vec<&str> = Vec::new();
    for (i, item) in media.iter().enumerate() {
        let at = |why: &str| format!("media[{i}]: {why}");
        let item = item.as_object().ok_or_else(|| at("must be an object"))?;
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| at("has no `type`"))?;
        let at = |why: &str| format!("media[{i}] ({kind}): {why}");
        let once = |what: &str| {
            if seen.contains(&kind) {
                Err(at(&format!("at most one {what} per topic")))
            } else {
                Ok(())
            }
        };
        match kind {
            "text" => text(item, "text").map_err(|e| at(&e))?,
            "link" => {
                once("link")?;
                link(item).map_err(|e| at(&e))?;
            }
            "photo" => list(item, &[&["id", "photoId"]]).map_err(|e| at(&e))?,
            "movie" => list(item, &[&["id"]]).map_err(|e| at(&e))?,
            "music" => list(item, &[&["id"], &["title"], &["artistName"]]).map_err(|e| at(&e))?,
            "poll" => poll(item).map_err(|e| at(&e))?,
            "app" => app(item).map_err(|e| at(&e))?,
            "app-ref" => {
                once("app-ref")?;
                value(item, "appId").map_err(|e| at(&e))?;
            }
            "topic" => value(item, "topicId").map_err(|e| at(&e))?,
            "movie-reshare" => value(item, "movieId").map_err(|e| at(&e))?,
            other => {
                return Err(format!(
                    "media[{i}]: unknown type `{other}` (known: text, link, photo, movie, music, poll, app, app-ref, topic, movie-reshare)"
                ));
            }
        }
        seen.push(kind);
    }
    if seen.iter().all(|k| *k == "app") {
        return Err("an `app` block is never posted alone: add text, a photo or a link".into());
    }
    Ok(())
}

/// A non-empty string (or, for ids, a number).
fn value(item: &Map<String, Value>, key: &str) -> Result<(), String> {
    match item.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        Some(Value::Number(_)) => Ok(()),
        _ => Err(format!("`{key}` is missing or empty")),
    }
}

fn text(item: &Map<String, Value>, key: &str) -> Result<(), String> {
    match item.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        _ => Err(format!("`{key}` must be a non-empty string")),
    }
}

fn link(item: &Map<String, Value>) -> Result<(), String> {
    let url = item.get("url").and_then(Value::as_str).unwrap_or_default();
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err("`url` must be an http(s) URL".into()),
    }
}

/// A non-empty `list` whose entries each have, for every group of keys, one of them.
fn list(item: &Map<String, Value>, required: &[&[&str]]) -> Result<(), String> {
    let entries = item
        .get("list")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or("`list` must be a non-empty list")?;
    for (j, entry) in entries.iter().enumerate() {
        let entry = entry
            .as_object()
            .ok_or_else(|| format!("list[{j}] must be an object"))?;
        for keys in required {
            if !keys.iter().any(|k| value(entry, k).is_ok()) {
                return Err(format!("list[{j}] needs `{}`", keys.join("` or `")));
            }
        }
    }
    Ok(())
}

fn poll(item: &Map<String, Value>) -> Result<(), String> {
    text(item, "question")?;
    let answers = item
        .get("answers")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("`answers` must be a non-empty list")?;
    for (j, answer) in answers.iter().enumerate() {
        let answer = answer
            .as_object()
            .ok_or_else(|| format!("answers[{j}] must be an object"))?;
        text(answer, "text").map_err(|e| format!("answers[{j}]: {e}"))?;
    }
    if let Some(options) = item.get("options") {
        let options = options.as_str().ok_or("`options` must be a string")?;
        for option in options.split(',').map(str::trim) {
            if !POLL_OPTIONS.contains(&option) {
                return Err(format!(
                    "unknown option `{option}` (known: {})",
                    POLL_OPTIONS.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// OK shows one image and one action per app block, for now.
fn app(item: &Map<String, Value>) -> Result<(), String> {
    for (key, inner) in [("images", "url"), ("actions", "text")] {
        let entries = item.get(key).and_then(Value::as_array);
        match entries.map(Vec::as_slice) {
            Some([one]) => {
                let one = one
                    .as_object()
                    .ok_or_else(|| format!("`{key}`[0] must be an object"))?;
                text(one, inner).map_err(|e| format!("{key}[0]: {e}"))?;
            }
            _ => return Err(format!("`{key}` must hold exactly one entry")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(media: Value) -> String {
        check(&json!({ "media": media })).unwrap_err()
    }

    #[test]
    fn documented_examples_pass() {
        let topic = json!({"media": [
            {"type": "photo", "list": [{"id": "photoToken1"}, {"photoId": "1234"}]},
            {"type": "movie", "list": [{"id": "movieId1"}]},
            {"type": "music", "list": [{"id": 8058357707207u64, "title": "Fix You",
                "artistName": "Coldplay", "albumName": "X&Y"}]},
            {"type": "poll", "question": "Правда?", "answers": [{"text": "Да"}, {"text": "Нет"}],
                "options": "SingleChoice,AnonymousVoting"},
            {"type": "link", "url": "https://apiok.ru/"},
            {"type": "text", "text": "Text1"},
            {"type": "app", "text": "Above", "images": [{"url": "https://x.example/i.jpg",
                "mark": "prize_1234"}], "actions": [{"text": "Hello", "mark": "hello"}]},
            {"type": "topic", "topicId": "10240918683741", "group": "false"},
            {"type": "movie-reshare", "movieId": "14029922"},
            {"type": "app-ref", "appId": 512000589246u64}
        ]});
        assert_eq!(check(&topic), Ok(()));
    }

    #[test]
    fn each_breach_is_named() {
        assert_eq!(
            check(&json!([1])).unwrap_err(),
            "the attachment must be a JSON object with `media`"
        );
        assert_eq!(refused(json!([])), "`media` must be a non-empty list");
        assert_eq!(refused(json!([{"text": "x"}])), "media[0]: has no `type`");
        assert_eq!(
            refused(json!([{"type": "sticker"}])),
            "media[0]: unknown type `sticker` (known: text, link, photo, movie, music, poll, app, app-ref, topic, movie-reshare)"
        );
        assert_eq!(
            refused(json!([{"type": "text", "text": " "}])),
            "media[0] (text): `text` must be a non-empty string"
        );
        let link = json!({"type": "link", "url": "https://a.example/"});
        assert_eq!(
            refused(json!([link.clone(), link])),
            "media[1] (link): at most one link per topic"
        );
        assert_eq!(
            refused(json!([{"type": "link", "url": "javascript:alert(1)"}])),
            "media[0] (link): `url` must be an http(s) URL"
        );
        assert_eq!(
            refused(json!([{"type": "photo", "list": [{"title": "x"}]}])),
            "media[0] (photo): list[0] needs `id` or `photoId`"
        );
        assert_eq!(
            refused(json!([{"type": "music", "list": [{"id": 1, "title": "t"}]}])),
            "media[0] (music): list[0] needs `artistName`"
        );
        assert_eq!(
            refused(json!([{"type": "poll", "question": "Q?", "answers": []}])),
            "media[0] (poll): `answers` must be a non-empty list"
        );
        assert_eq!(
            refused(json!([{"type": "poll", "answers": [{"text": "a"}]}])),
            "media[0] (poll): `question` must be a non-empty string"
        );
        assert_eq!(
            refused(
                json!([{"type": "poll", "question": "Q?", "answers": [{"text": "a"}],
                "options": "SingleChoice,Secret"}])
            ),
            "media[0] (poll): unknown option `Secret` (known: SingleChoice, AnonymousVoting, ResultsAfterVoting)"
        );
        let app =
            json!({"type": "app", "images": [{"url": "https://i"}], "actions": [{"text": "Go"}]});
        assert_eq!(
            refused(json!([app])),
            "an `app` block is never posted alone: add text, a photo or a link"
        );
        assert_eq!(
            refused(json!([{"type": "text", "text": "t"}, {"type": "app",
                "images": [{"url": "https://i"}, {"url": "https://j"}], "actions": [{"text": "Go"}]}])),
            "media[1] (app): `images` must hold exactly one entry"
        );
        let app_ref = json!({"type": "app-ref", "appId": 1});
        assert_eq!(
            refused(json!([app_ref.clone(), app_ref])),
            "media[1] (app-ref): at most one app-ref per topic"
        );
        assert_eq!(
            refused(json!([{"type": "topic", "group": "true"}])),
            "media[0] (topic): `topicId` is missing or empty"
        );
    }
}
