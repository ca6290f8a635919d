//! Writing an archive: a task reads the app page by page and writes tar entries through a gzip
//! encoder into a pipe whose other end is the returned stream, so the archive is produced as
//! fast as it is consumed and never held whole.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_compression::Level;
use async_compression::tokio::write::GzipEncoder;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use reparse_core::ParseError;
use reparse_core::query::Filter;
use reparse_core::schema::ClassSchema;
use reparse_server::App;
use reparse_storage::columns::OBJECT_ID;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio_tar::{Builder, Header};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::{
    MANIFEST_ENTRY, Manifest, OBJECTS_PER_PART, RELATION_ROWS_PER_PART, SCHEMA_ENTRY, class_part_path,
    relation_part_path,
};

/// What an export includes besides the app's data.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// The app's stored files (their bytes, type, metadata and tags).
    pub include_files: bool,
}

/// The archive of `app`, as a stream of `.tar.gz` bytes. It is not a snapshot: each page of
/// objects is read as of its own read. A failure part-way ends the stream with the error, so
/// that what was sent cannot pass for a whole archive.
pub fn export(app: Arc<App>, options: ExportOptions) -> BoxStream<'static, io::Result<Bytes>> {
    let (writer, reader) = tokio::io::duplex(256 * 1024);
    let (outcome_sender, outcome) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let result = write_archive(&app, options, writer).await;
        if let Err(error) = &result {
            tracing::warn!(target: "archive", app = %app.config.app_id, %error, "export failed");
        }
        let _ = outcome_sender.send(result);
    });
    let failure = futures::stream::once(async move {
        match outcome.await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(Err(error)),
            Err(_) => Some(Err(io::Error::other("the export stopped"))),
        }
    })
    .filter_map(std::future::ready);
    ReaderStream::new(reader).chain(failure).boxed()
}

async fn write_archive(app: &App, options: ExportOptions, writer: DuplexStream) -> io::Result<()> {
    let storage = app.storage.as_ref();
    let mut tar = Builder::new(GzipEncoder::with_quality(writer, Level::Fastest));
    let files = app.files.as_ref().filter(|_| options.include_files);
    let manifest = Manifest {
        app_id: app.config.app_id.clone(),
        app_name: app.config.name.clone(),
        exported_at: reparse_core::value::format_date(chrono::Utc::now()),
        includes_files: files.is_some(),
    };
    append_bytes(&mut tar, MANIFEST_ENTRY, manifest.to_json().to_string().into_bytes()).await?;

    let mut schemas = storage.load_schemas().await.map_err(parse_error)?;
    schemas.sort_by(|a, b| a.class_name.cmp(&b.class_name));
    let schema_json: Vec<Value> = schemas.iter().map(ClassSchema::to_json).collect();
    append_bytes(&mut tar, SCHEMA_ENTRY, serde_json::to_vec_pretty(&schema_json)?).await?;

    for schema in &schemas {
        write_class(app, schema, &mut tar).await?;
    }
    if let Some(files) = files {
        let mut listing = files.list();
        while let Some(info) = listing.next().await {
            let info = info.map_err(parse_error)?;
            let attributes = files.attributes(&info.name).await.map_err(parse_error)?;
            let attributes = json!({
                "contentType": attributes.content_type,
                "metadata": attributes.metadata,
                "tags": attributes.tags,
            });
            let path = format!("file-attributes/{}.json", info.name);
            append_bytes(&mut tar, &path, attributes.to_string().into_bytes()).await?;
            let read = files.read(&info.name, None).await.map_err(|error| match error {
                reparse_files::ReadError::Failed(error) => parse_error(error),
                reparse_files::ReadError::Unsatisfiable { .. } => io::Error::other("file shrank while read"),
            })?;
            let length = read.info.length;
            let body = ExactLength { inner: StreamReader::new(read.body).take(length), remaining: length };
            append(&mut tar, &format!("files/{}", info.name), length, body).await?;
        }
    }
    tar.finish().await?;
    let mut encoder = tar.into_inner().await?;
    encoder.shutdown().await
}

/// One class's objects, part by part in the storage's scan order, then its relations.
async fn write_class<W>(app: &App, schema: &ClassSchema, tar: &mut Builder<W>) -> io::Result<()>
where
    W: AsyncWrite + Unpin + Send,
{
    let storage = app.storage.as_ref();
    let everything = Filter::everything();
    let mut after: Option<String> = None;
    for part in 1.. {
        let page = storage
            .scan(schema, &everything, after.as_deref(), OBJECTS_PER_PART)
            .await
            .map_err(parse_error)?;
        if page.is_empty() {
            break;
        }
        let mut lines = Vec::new();
        for object in &page {
            serde_json::to_writer(&mut lines, object)?;
            lines.push(b'\n');
        }
        append_bytes(tar, &class_part_path(&schema.class_name, part), lines).await?;
        let full_page = page.len() as u64 == OBJECTS_PER_PART;
        after =
            page.last().and_then(|object| object.get(OBJECT_ID)).and_then(Value::as_str).map(String::from);
        if !full_page {
            break;
        }
    }
    for (field, _) in schema.relation_fields() {
        write_relation(app, &schema.class_name, field, tar).await?;
    }
    Ok(())
}

/// A relation's rows, read in `(owningId, relatedId)` pages, as one line per owning object and
/// page (an object whose rows straddle two pages has a line in each; an import adds both).
async fn write_relation<W>(app: &App, class_name: &str, field: &str, tar: &mut Builder<W>) -> io::Result<()>
where
    W: AsyncWrite + Unpin + Send,
{
    let mut after: Option<(String, String)> = None;
    for part in 1.. {
        let pairs = app
            .storage
            .relation_pairs(class_name, field, after.as_ref(), RELATION_ROWS_PER_PART)
            .await
            .map_err(parse_error)?;
        let Some(last) = pairs.last().cloned() else { break };
        let mut lines = Vec::new();
        for owner in pairs.chunk_by(|a, b| a.0 == b.0) {
            let related: Vec<&str> = owner.iter().map(|(_, related)| related.as_str()).collect();
            serde_json::to_writer(&mut lines, &json!({"owningId": owner[0].0, "relatedIds": related}))?;
            lines.push(b'\n');
        }
        append_bytes(tar, &relation_part_path(class_name, field, part), lines).await?;
        if (pairs.len() as u64) < RELATION_ROWS_PER_PART {
            break;
        }
        after = Some(last);
    }
    Ok(())
}

async fn append_bytes<W>(tar: &mut Builder<W>, path: &str, bytes: Vec<u8>) -> io::Result<()>
where
    W: AsyncWrite + Unpin + Send,
{
    append(tar, path, bytes.len() as u64, bytes.as_slice()).await
}

async fn append<W, R>(tar: &mut Builder<W>, path: &str, size: u64, data: R) -> io::Result<()>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin,
{
    let mut header = Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header.set_entry_type(tokio_tar::EntryType::Regular);
    tar.append_data(&mut header, path, data).await
}

fn parse_error(error: ParseError) -> io::Error {
    io::Error::other(error.message)
}

/// A file's bytes, which must be exactly as many as its entry's header announced (a file replaced
/// while it is read would otherwise shift every later entry of the archive).
struct ExactLength<R> {
    inner: R,
    remaining: u64,
}

impl<R: AsyncRead + Unpin> AsyncRead for ExactLength<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let read = (buf.filled().len() - before) as u64;
        if read == 0 && self.remaining > 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a file shrank while it was read",
            )));
        }
        self.remaining -= read;
        Poll::Ready(Ok(()))
    }
}
