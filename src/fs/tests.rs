//! Trips to the lane, counted with the lane's internal job counter: what buffering saves.

use crate::fs::{self, File};
use crate::runtime::{Builder, Handle, Runtime};
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use std::io::SeekFrom;
use std::path::PathBuf;

fn runtime() -> Runtime {
    Builder::new()
        .worker_threads(2)
        .compute_threads(1)
        .build()
        .unwrap()
}

fn hops() -> u64 {
    Handle::current().inner.io.jobs_taken()
}

/// A unique temp path, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        TempPath(
            std::env::temp_dir().join(format!("spindle-fs-unit-{tag}-{}-{n}", std::process::id())),
        )
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn one_mib_in_8_kib_pieces_costs_a_few_trips_not_one_per_piece() {
    let path = TempPath::new("mib");
    let data = pattern(1 << 20);
    runtime().block_on(async {
        let mut file = File::create(&path.0).await.unwrap();
        let before = hops();
        for piece in data.chunks(8 * 1024) {
            file.write_all(piece).await.unwrap();
        }
        file.flush().await.unwrap();
        let write_hops = hops() - before;
        // 1 MiB / 128 KiB = 8 write-behind trips (the flush finds nothing left).
        assert_eq!(write_hops, 8, "writes of 8 KiB must accumulate");
        drop(file);

        let mut file = File::open(&path.0).await.unwrap();
        let before = hops();
        let mut back = Vec::new();
        let mut piece = vec![0u8; 8 * 1024];
        loop {
            let n = file.read(&mut piece).await.unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&piece[..n]);
        }
        let read_hops = hops() - before;
        assert!(back == data, "1 MiB read back differs");
        // 128 + 256 + 512 KiB (doubling while sequential), then the last 128 KiB, short, which
        // also tells the end of the file.
        assert_eq!(
            read_hops, 4,
            "reads of 8 KiB must be served from the read-ahead"
        );
        assert!(read_hops + write_hops < (1 << 20) / (8 * 1024) / 4);
    });
}

#[test]
fn a_small_file_reads_to_the_end_in_one_trip() {
    let path = TempPath::new("small");
    std::fs::write(&path.0, b"short and sweet").unwrap();
    runtime().block_on(async {
        let mut file = File::open(&path.0).await.unwrap();
        let before = hops();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "short and sweet");
        // The short read of a regular file that reached its length is known to be the end.
        assert_eq!(hops() - before, 1);
        // Reading again asks the OS again (the file may have grown).
        assert_eq!(file.read(&mut [0u8; 4]).await.unwrap(), 0);
        assert_eq!(hops() - before, 2);
    });
}

#[test]
fn seeks_inside_the_read_ahead_cost_no_trip() {
    let path = TempPath::new("seek");
    let data = pattern(100_000);
    std::fs::write(&path.0, &data).unwrap();
    runtime().block_on(async {
        let mut file = File::open(&path.0).await.unwrap();
        let mut four = [0u8; 4];
        file.read_exact(&mut four).await.unwrap();
        let before = hops();
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 4);
        assert_eq!(file.seek(SeekFrom::Start(50_000)).await.unwrap(), 50_000);
        file.read_exact(&mut four).await.unwrap();
        assert_eq!(four, data[50_000..50_004]);
        assert_eq!(file.seek(SeekFrom::Current(-50_004)).await.unwrap(), 0);
        file.read_exact(&mut four).await.unwrap();
        assert_eq!(four, data[..4]);
        assert_eq!(
            hops(),
            before,
            "every seek landed in the buffered 100 000 bytes"
        );

        // Outside the window (from the end): one trip, and the position is right.
        assert_eq!(file.seek(SeekFrom::End(-2)).await.unwrap(), 99_998);
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, data[99_998..]);
        assert_eq!(hops() - before, 2, "one seek trip and one read trip");
    });
}

#[test]
fn small_writes_then_a_flush_make_one_trip_and_lines_read_from_the_buffer() {
    let path = TempPath::new("lines");
    runtime().block_on(async {
        let mut file = File::create(&path.0).await.unwrap();
        let before = hops();
        for i in 0..1000 {
            file.write_all(format!("line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        file.flush().await.unwrap();
        assert_eq!(hops() - before, 1, "1000 small writes, one trip");
        drop(file);

        let file = File::open(&path.0).await.unwrap();
        let before = hops();
        let lines: Vec<String> = futures_lite::StreamExt::try_collect(file.lines())
            .await
            .unwrap();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "line 999");
        assert_eq!(
            hops() - before,
            1,
            "AsyncBufRead serves the lines from one read-ahead"
        );
    });
}

#[test]
fn buffer_size_zero_is_one_trip_per_operation() {
    let path = TempPath::new("unbuffered");
    runtime().block_on(async {
        let mut file = File::create(&path.0).await.unwrap();
        file.set_buffer_size(0);
        let before = hops();
        for _ in 0..3 {
            file.write_all(b"abc").await.unwrap();
        }
        file.flush().await.unwrap();
        assert_eq!(hops() - before, 3, "write-through: one trip per write");
        assert_eq!(fs::read(&path.0).await.unwrap(), b"abcabcabc");
    });
}

/// Polls `check` until it holds (a generous deadline for a loaded machine).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn a_sequential_reader_gets_the_next_chunk_prefetched_while_it_consumes_this_one() {
    let path = TempPath::new("prefetch");
    let data = pattern(3 << 20);
    std::fs::write(&path.0, &data).unwrap();
    let rt = runtime();
    let io = &rt.handle().inner.io;
    rt.block_on(async {
        let mut file = File::open(&path.0).await.unwrap();
        let before = io.jobs_taken();
        let mut piece = vec![0u8; 8 * 1024];
        file.read_exact(&mut piece).await.unwrap(); // 128 KiB read ahead, full: sequential
        // Without another read call, the next chunk is read in the background.
        eventually("the prefetch ran", || io.jobs_taken() == before + 2);
        let mut back = piece.clone();
        file.read_to_end(&mut back).await.unwrap();
        assert!(back == data);
        // 128 KiB, 256 KiB, then 512 KiB chunks up to 3 MiB; the last one is short (the end).
        assert_eq!(io.jobs_taken() - before, 8);
    });
}

#[test]
fn nothing_is_prefetched_from_a_stream_that_could_block() {
    use std::io::Write;
    let (mut writer, reader) = std::os::unix::net::UnixStream::pair().unwrap();
    let rt = runtime();
    let io = &rt.handle().inner.io;
    rt.block_on(async {
        let mut file = File::from_std(std::fs::File::from(std::os::fd::OwnedFd::from(reader)));
        file.set_buffer_size(4);
        writer.write_all(b"abcd").unwrap(); // exactly one full read-ahead
        let mut got = [0u8; 4];
        file.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"abcd");
        // A prefetch here would sit in read(2) on a lane thread until the writer writes.
        eventually("no lane thread is blocked in a read", || {
            io.idle_threads() == io.threads()
        });
        writer.write_all(b"ef").unwrap();
        drop(writer);
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"ef");
    });
}
