//! `FileListDirectory`: tantivy's `RamDirectory` that also knows the names of its files.
//!
//! Publishing a version needs every file its segments consist of. tantivy 0.27 does not hand out
//! a segment's file list (`SegmentMeta::list_files` is crate-private, and plugins add
//! components of their own), and `RamDirectory` has no listing; so this wrapper records each
//! name written and forgets each one deleted, and everything else is the `RamDirectory`'s.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tantivy::Directory;
use tantivy::directory::error::{DeleteError, OpenReadError, OpenWriteError};
use tantivy::directory::{FileHandle, RamDirectory, WatchCallback, WatchHandle, WritePtr};

#[derive(Clone, Default)]
pub(crate) struct FileListDirectory {
    files: RamDirectory,
    names: Arc<RwLock<BTreeSet<PathBuf>>>,
}

impl std::fmt::Debug for FileListDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileListDirectory")
    }
}

impl FileListDirectory {
    /// The names of the files written and not deleted.
    pub(crate) fn names(&self) -> BTreeSet<PathBuf> {
        self.names.read().expect("file names").clone()
    }

    fn remember(&self, path: &Path) {
        self.names
            .write()
            .expect("file names")
            .insert(path.to_owned());
    }
}

impl Directory for FileListDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.files.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.files.delete(path)?;
        self.names.write().expect("file names").remove(path);
        Ok(())
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.files.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let written = self.files.open_write(path)?;
        self.remember(path);
        Ok(written)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.files.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.files.atomic_write(path, data)?;
        self.remember(path);
        Ok(())
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.files.sync_directory()
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.files.watch(watch_callback)
    }
}
