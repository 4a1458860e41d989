//! Stream statements: `CREATE STREAM`, `DROP STREAM`, `DESCRIBE STREAM`, `SHOW STREAMS`.
//!
//! sqlparser has no grammar for eKuiper's stream DDL, so its tokenizer (with eKuiper's lexical
//! rules) feeds a small parser here.

use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result};
use crate::sql::EkuiperDialect;

use super::def::{FieldDef, FieldType, StreamDef, StreamOptions};

/// A parsed stream statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStatement {
    Create(Box<StreamDef>),
    Drop(String),
    Describe(String),
    Show,
}

/// The option keys `WITH (...)` accepts, as eKuiper spells them.
const OPTION_KEYS: &str = "DATASOURCE, FORMAT, KEY, CONF_KEY, TYPE, SHARED, STRICT_VALIDATION, TIMESTAMP, TIMESTAMP_FORMAT, RETAIN_SIZE, SCHEMAID, KIND, DELIMITER";

/// Parses one stream statement.
pub fn parse_stream_statement(sql: &str) -> Result<StreamStatement> {
    let tokens = Tokenizer::new(&EkuiperDialect, sql)
        .tokenize_with_location()
        .map_err(|e| Error::Sql(format!("invalid statement: {e}")))?;
    let mut p = Cursor {
        tokens: tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect(),
        pos: 0,
    };
    let statement = if p.word_is("CREATE") {
        p.pos += 1;
        let table = p.word_is("TABLE");
        if table {
            p.pos += 1;
        } else {
            p.expect_word("STREAM")?;
        }
        let mut def = p.create(sql, table)?;
        def.table = table;
        StreamStatement::Create(Box::new(def))
    } else if p.word_is("DROP") {
        p.pos += 1;
        if p.word_is("TABLE") {
            p.pos += 1;
        } else {
            p.expect_word("STREAM")?;
        }
        StreamStatement::Drop(p.identifier("a stream name")?)
    } else if p.word_is("DESCRIBE") || p.word_is("DESC") {
        p.pos += 1;
        p.expect_word("STREAM")?;
        StreamStatement::Describe(p.identifier("a stream name")?)
    } else if p.word_is("SHOW") {
        p.pos += 1;
        p.expect_word("STREAMS")?;
        StreamStatement::Show
    } else {
        return Err(p.unexpected("CREATE STREAM, DROP STREAM, DESCRIBE STREAM or SHOW STREAMS"));
    };
    p.consume(&Token::SemiColon);
    if p.pos < p.tokens.len() && p.tokens[p.pos].token != Token::EOF {
        return Err(p.unexpected("the end of the statement"));
    }
    Ok(statement)
}

struct Cursor {
    tokens: Vec<TokenWithSpan>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).map_or(&Token::EOF, |t| &t.token)
    }

    fn word_is(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
    }

    fn unexpected(&self, expected: &str) -> Error {
        let found = match self.peek() {
            Token::EOF => "the end of the statement".to_string(),
            t => format!("{t}"),
        };
        let at = self
            .tokens
            .get(self.pos)
            .map(|t| {
                format!(
                    " at line {}, column {}",
                    t.span.start.line, t.span.start.column
                )
            })
            .unwrap_or_default();
        Error::Sql(format!(
            "invalid stream statement: expected {expected}, found {found}{at}"
        ))
    }

    fn expect_word(&mut self, word: &str) -> Result<()> {
        if self.word_is(word) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(word))
        }
    }

    fn consume(&mut self, token: &Token) -> bool {
        if self.peek() == token {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &Token) -> Result<()> {
        if self.consume(token) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("{token}")))
        }
    }

    fn identifier(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Token::Word(w) => {
                let name = w.value.clone();
                self.pos += 1;
                Ok(name)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn create(&mut self, sql: &str, table: bool) -> Result<StreamDef> {
        let name = self.identifier(if table {
            "a table name"
        } else {
            "a stream name"
        })?;
        self.expect(&Token::LParen)?;
        let fields = if self.consume(&Token::RParen) {
            None
        } else {
            let fields = self.field_list()?;
            self.expect(&Token::RParen)?;
            Some(fields)
        };
        let options = self.options(&name, table)?;
        Ok(StreamDef {
            name,
            fields,
            table,
            options,
            statement: sql.trim().trim_end_matches(';').trim_end().to_string(),
        })
    }

    fn field_list(&mut self) -> Result<Vec<FieldDef>> {
        let mut fields: Vec<FieldDef> = Vec::new();
        loop {
            let name = self.identifier("a field name")?;
            if fields.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
                return Err(Error::Sql(format!(
                    "invalid stream statement: field {name} is declared twice"
                )));
            }
            let ty = self.field_type()?;
            fields.push(FieldDef { name, ty });
            if !self.consume(&Token::Comma) {
                return Ok(fields);
            }
        }
    }

    fn field_type(&mut self) -> Result<FieldType> {
        const TYPES: &str = "a field type (bigint, float, string, datetime, boolean, bytea, array(...), struct(...))";
        let word = match self.peek() {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_lowercase(),
            _ => return Err(self.unexpected(TYPES)),
        };
        let ty = match word.as_str() {
            "bigint" => FieldType::Bigint,
            "float" => FieldType::Float,
            "string" => FieldType::String,
            "datetime" => FieldType::Datetime,
            "boolean" => FieldType::Boolean,
            "bytea" => FieldType::Bytea,
            "array" => {
                self.pos += 1;
                self.expect(&Token::LParen)?;
                let inner = self.field_type()?;
                self.expect(&Token::RParen)?;
                return Ok(FieldType::Array(Box::new(inner)));
            }
            "struct" => {
                self.pos += 1;
                self.expect(&Token::LParen)?;
                let fields = self.field_list()?;
                self.expect(&Token::RParen)?;
                return Ok(FieldType::Struct(fields));
            }
            _ => return Err(self.unexpected(TYPES)),
        };
        self.pos += 1;
        Ok(ty)
    }

    fn options(&mut self, stream: &str, table: bool) -> Result<StreamOptions> {
        let mut o = StreamOptions::default();
        let mut seen_datasource = false;
        if !self.word_is("WITH") {
            return Err(self.unexpected("WITH (DATASOURCE=\"...\", ...)"));
        }
        self.pos += 1;
        self.expect(&Token::LParen)?;
        loop {
            let key = self
                .identifier(&format!("an option ({OPTION_KEYS})"))?
                .to_ascii_uppercase();
            self.expect(&Token::Eq)?;
            let value = match self.peek() {
                Token::DoubleQuotedString(s) | Token::SingleQuotedString(s) => s.clone(),
                _ => return Err(self.unexpected(&format!("a quoted string value for {key}"))),
            };
            self.pos += 1;
            let bad = |why: &str| {
                Error::Stream(format!(
                    "stream {stream}: option {key}: {why}, found {value:?}"
                ))
            };
            let boolean = |v: &str| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(bad("expected \"true\" or \"false\"")),
            };
            match key.as_str() {
                "DATASOURCE" => {
                    o.datasource = value.clone();
                    seen_datasource = true;
                }
                "TYPE" => o.source_type = value.to_ascii_lowercase(),
                "FORMAT" => o.format = value.to_ascii_lowercase(),
                "CONF_KEY" => o.conf_key = Some(value.clone()),
                "SHARED" => o.shared = boolean(&value)?,
                "STRICT_VALIDATION" => o.strict_validation = boolean(&value)?,
                "TIMESTAMP" => o.timestamp = Some(value.clone()),
                "TIMESTAMP_FORMAT" => o.timestamp_format = Some(value.clone()),
                "KEY" => o.key = Some(value.clone()),
                "RETAIN_SIZE" => {
                    o.retain_size = Some(
                        value
                            .parse()
                            .map_err(|_| bad("expected a non-negative integer"))?,
                    )
                }
                "SCHEMAID" => o.schema_id = Some(value.clone()),
                "KIND" => o.kind = Some(value.to_ascii_lowercase()),
                "DELIMITER" => o.delimiter = Some(value.clone()),
                _ => {
                    return Err(Error::Stream(format!(
                        "stream {stream}: unknown option {key}; the options are {OPTION_KEYS}"
                    )));
                }
            }
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen)?;
        if !seen_datasource || o.datasource.trim().is_empty() {
            return Err(Error::Stream(format!(
                "stream {stream}: option DATASOURCE is required (the topic or file the stream reads)"
            )));
        }
        if o.format != "json" {
            return Err(Error::Stream(format!(
                "stream {stream}: FORMAT {:?} is not supported; this version decodes json",
                o.format
            )));
        }
        match (table, o.kind.as_deref()) {
            (false, Some(kind)) => {
                return Err(Error::Stream(format!(
                    "stream {stream}: KIND {kind:?} applies to tables (CREATE TABLE)"
                )));
            }
            (false, None) | (true, None | Some("scan")) => {}
            (true, Some("lookup")) if o.key.is_none() => {
                return Err(Error::Stream(format!(
                    "table {stream}: a lookup table needs KEY, the field its rows are kept by"
                )));
            }
            (true, Some("lookup")) => {}
            (true, Some(other)) => {
                return Err(Error::Stream(format!(
                    "table {stream}: KIND {other:?} is not a kind of table; use scan or lookup"
                )));
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(sql: &str) -> StreamDef {
        match parse_stream_statement(sql).unwrap() {
            StreamStatement::Create(def) => *def,
            other => panic!("{other:?}"),
        }
    }

    fn err(sql: &str) -> String {
        parse_stream_statement(sql).unwrap_err().to_string()
    }

    #[test]
    fn schemaless_with_defaults() {
        let def = create(r#"CREATE STREAM demo () WITH (DATASOURCE="sensors/demo")"#);
        assert_eq!(def.name, "demo");
        assert_eq!(def.fields, None);
        assert_eq!(def.options.source_type, "mqtt");
        assert_eq!(def.options.format, "json");
        assert!(!def.options.shared);
        assert_eq!(
            def.statement,
            r#"CREATE STREAM demo () WITH (DATASOURCE="sensors/demo")"#
        );
    }

    #[test]
    fn every_type_and_option() {
        let def = create(
            r#"create stream s (id BIGINT, t float, name string, at datetime, ok boolean, raw bytea,
               tags array(string), pos struct(x float, y float, more array(struct(k string))))
               with (datasource="a", type="Memory", format="JSON", conf_key="k", shared="TRUE",
               strict_validation="false", timestamp="at", timestamp_format="yyyy-MM-dd", key="id",
               retain_size="3", schemaid="s1", delimiter=";");"#,
        );
        let fields = def.fields.unwrap();
        let types: Vec<String> = fields.iter().map(|f| f.ty.to_string()).collect();
        assert_eq!(
            types,
            [
                "bigint",
                "float",
                "string",
                "datetime",
                "boolean",
                "bytea",
                "array(string)",
                "struct(x float, y float, more array(struct(k string)))"
            ]
        );
        let o = def.options;
        assert_eq!(o.source_type, "memory");
        assert!(o.shared);
        assert_eq!(o.conf_key.as_deref(), Some("k"));
        assert_eq!(o.timestamp.as_deref(), Some("at"));
        assert_eq!(o.retain_size, Some(3));
        assert_eq!(o.delimiter.as_deref(), Some(";"));
    }

    #[test]
    fn other_statements() {
        assert_eq!(
            parse_stream_statement("DROP STREAM demo").unwrap(),
            StreamStatement::Drop("demo".into())
        );
        assert_eq!(
            parse_stream_statement("describe stream `my demo`;").unwrap(),
            StreamStatement::Describe("my demo".into())
        );
        assert_eq!(
            parse_stream_statement("SHOW STREAMS").unwrap(),
            StreamStatement::Show
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(
            err(r#"CREATE STREAM s (a int) WITH (DATASOURCE="x")"#),
            "invalid stream statement: expected a field type (bigint, float, string, datetime, boolean, bytea, array(...), struct(...)), found int at line 1, column 20"
        );
        assert!(
            err(r#"CREATE STREAM s () WITH (DATASOURCE="x", COLOR="red")"#)
                .starts_with("stream s: unknown option COLOR; the options are DATASOURCE")
        );
        assert_eq!(
            err(r#"CREATE STREAM s () WITH (SHARED="yes", DATASOURCE="x")"#),
            "stream s: option SHARED: expected \"true\" or \"false\", found \"yes\""
        );
        assert!(
            err(r#"CREATE STREAM s () WITH (TYPE="memory")"#).contains("DATASOURCE is required")
        );
        assert!(
            err(r#"CREATE STREAM s () WITH (DATASOURCE="x", FORMAT="protobuf")"#)
                .contains("FORMAT \"protobuf\"")
        );
        assert!(
            err(r#"CREATE STREAM s () WITH (DATASOURCE=x)"#)
                .contains("a quoted string value for DATASOURCE")
        );
        assert!(
            err(r#"CREATE STREAM s (a bigint, A float) WITH (DATASOURCE="x")"#)
                .contains("declared twice")
        );
        assert!(
            err(r#"CREATE STREAM t () WITH (DATASOURCE="a", KIND="scan")"#)
                .contains("applies to tables")
        );
        assert!(
            err(r#"CREATE TABLE t () WITH (DATASOURCE="a", KIND="lookup")"#).contains("needs KEY")
        );
        assert!(
            err(r#"CREATE TABLE t () WITH (DATASOURCE="a", KIND="heap")"#)
                .contains("not a kind of table")
        );
        let table = create(
            r#"CREATE TABLE t (id bigint) WITH (DATASOURCE="a", TYPE="memory", RETAIN_SIZE="3")"#,
        );
        assert!(table.table);
        assert_eq!(table.options.retain_size, Some(3));
        assert!(
            err(r#"CREATE STREAM s () WITH (DATASOURCE="x") extra"#)
                .contains("expected the end of the statement")
        );
    }
}
