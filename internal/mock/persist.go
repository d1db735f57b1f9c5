package mock

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// With a state file, memory holds what the file holds plus the changes
// whose commit is under way, in the order they were made (the queue). A
// change is answered once a transaction holding it has committed: bbolt
// syncs the file before Commit returns. One request commits at a time,
// holding disk.turn, and its transaction writes every queued change, so
// the changes made while a commit is under way share the next one (group
// commit); the requests whose changes it covered are told at once, without
// waiting for the turn. When a commit
// fails, every queued change fails with it and memory is read back from the
// database, so a failed change leaves no trace and its retry reaches the
// disk again. A request that changes nothing still waits for the last
// queued change, since its answer relies on what that change did.
//
// bbolt's own DB.Batch is not used: it waits MaxBatchDelay before every
// batch and runs the batched functions in the order their callers arrived,
// not in the order the changes were made, which the queue keeps.

// disk keeps the state in the state file.
type disk struct {
	// turn holds one token, taken by the request that commits (or
	// closes); the fields up to the queue are that request's.
	turn chan struct{}
	path string
	db   *bolt.DB
	// file is the state file db has open, to tell whether path still names
	// it.
	file fs.FileInfo
	// mark is the generation file (markPath), rewritten in place after
	// each commit.
	mark       *os.File
	fileID     string
	generation uint64
	// beforeCommit runs in each commit before its writes; tests hold or
	// fail the disk with it.
	beforeCommit func() error

	// The server's stMu guards the fields below.
	queue []queued
	// current gathers the records of the change being made.
	current []logRecord
	// last is the last change queued, nil once it is committed.
	last *ticket
	// closed is set by Close; broken when memory could not be read back
	// after a failed commit. Either refuses every change.
	closed bool
	broken error
}

// ticket is the outcome of one change, set by the committing request.
type ticket struct {
	done chan struct{} // closed once err is set
	err  error
}

func newTicket() *ticket { return &ticket{done: make(chan struct{})} }

func (t *ticket) resolve(err error) {
	t.err = err
	close(t.done)
}

// queued is a change made in memory and not yet committed.
type queued struct {
	t       *ticket
	records []logRecord
}

// Operations of a change record.
const (
	logPutPolicy    = "put_policy"
	logDeletePolicy = "delete_policy"
	logBind         = "bind"
	logUnbind       = "unbind"
)

// logRecord is one part of a change: a policy as it is now, a deleted
// policy (and so its bindings), a binding made or a binding removed.
type logRecord struct {
	Op       string
	Project  string
	Instance string
	Policy   *Policy
	PolicyID string
	Binding  *bindingFile
}

// record notes a part of the change being made; the caller holds stMu.
func (s *Server) record(instanceID string, r logRecord) {
	if s.disk == nil {
		return
	}
	r.Project, r.Instance = s.projectID, instanceID
	s.disk.current = append(s.disk.current, r)
}

var errClosed = errors.New("the mock is closed")

func stateError(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: codeInternal,
		Msg: "Internal error. The mock could not write its state file: " + err.Error()}
}

// change runs f under the state's write lock and, with a state file, waits
// until what f did, or saw, is on disk.
func (s *Server) change(f func() (changed bool, e *Error)) *Error {
	d := s.disk
	s.stMu.Lock()
	if d != nil && (d.closed || d.broken != nil) {
		err := d.broken
		if d.closed {
			err = errClosed
		}
		s.stMu.Unlock()
		return stateError(err)
	}
	changed, e := f()
	if changed {
		s.version++
	}
	var t *ticket
	if d != nil {
		if changed {
			t = newTicket()
			d.queue = append(d.queue, queued{t: t, records: d.current})
			d.last = t
		} else {
			t = d.last
		}
		d.current = nil
	}
	s.stMu.Unlock()
	if t == nil {
		return e
	}
	if err := s.commit(t); err != nil {
		return stateError(err)
	}
	return e
}

// commit waits until the change of t is committed or failed, committing
// the queue itself when it gets the turn first.
func (s *Server) commit(t *ticket) error {
	d := s.disk
	select {
	case <-t.done:
	case <-d.turn:
		select {
		case <-t.done: // committed by the request before
		default:
			s.flush() // the queue holds t: flush resolves it
		}
		d.turn <- struct{}{}
	}
	return t.err
}

// flush commits every queued change in one transaction or fails them all;
// the caller holds the turn.
func (s *Server) flush() {
	d := s.disk
	n := 0
	err := d.follow()
	if err == nil {
		err = d.db.Update(func(tx *bolt.Tx) error {
			s.stMu.RLock()
			batch := d.queue[:len(d.queue):len(d.queue)]
			m := dbMeta{fileID: d.fileID, generation: d.generation + 1, clock: s.st.clock, counter: s.st.counter}
			s.stMu.RUnlock()
			n = len(batch)
			if err := d.beforeCommit(); err != nil {
				return err
			}
			for _, q := range batch {
				for _, r := range q.records {
					if err := putRecord(tx, r); err != nil {
						return err
					}
				}
			}
			return putMeta(tx, m)
		})
	}
	s.stMu.Lock()
	if err == nil {
		for _, q := range d.queue[:n] {
			q.t.resolve(nil)
		}
		d.queue = slices.Delete(d.queue, 0, n)
		if len(d.queue) == 0 {
			d.last = nil
		}
		s.stMu.Unlock()
		d.generation++
		// The generation file may lag behind after a crash: that only
		// weakens the check at start, never fails it.
		_ = d.writeMark(false)
		return
	}
	defer s.stMu.Unlock()
	for _, q := range d.queue {
		q.t.resolve(err)
	}
	d.queue, d.last = nil, nil
	s.version++
	var st *store
	rerr := d.db.View(func(tx *bolt.Tx) error {
		var err error
		st, _, err = loadStore(tx)
		return err
	})
	if rerr != nil {
		d.broken = fmt.Errorf("after a failed write (%v), the state file could not be read back (%v): restart the mock", err, rerr)
		return
	}
	s.st = st
}

// follow makes sure path still names the file the database has open. When
// that file was removed or replaced while the mock runs, it writes a copy
// of the open one (what is committed) to path and opens it instead.
func (d *disk) follow() error {
	if d.db == nil {
		return errClosed
	}
	if info, err := os.Stat(d.path); err == nil && os.SameFile(info, d.file) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.path), tempPattern(d.path))
	if err != nil {
		return fmt.Errorf("%s was removed or replaced, and cannot be written again: %w", d.path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	err = d.db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(tmp)
		return err
	})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(d.path))
	}
	var db *bolt.DB
	var info fs.FileInfo
	if err == nil {
		db, info, err = openDB(d.path, false)
	}
	if err != nil {
		return fmt.Errorf("%s was removed or replaced, and cannot be written again: %w", d.path, err)
	}
	_ = d.db.Close() // read-only since the copy; its file is gone from path
	d.db, d.file = db, info
	// The generation file may have gone with the state file.
	if err := d.newMark(); err != nil {
		return fmt.Errorf("writing %s: %w", markPath(d.path), err)
	}
	return nil
}

// Close waits for the changes under way, closes the state file and writes
// the generation file. Changes after Close are refused.
func (s *Server) Close() error {
	d := s.disk
	if d == nil {
		return nil
	}
	<-d.turn
	defer func() { d.turn <- struct{}{} }()
	if d.db == nil {
		return nil
	}
	s.stMu.Lock()
	d.closed = true
	queued := len(d.queue) > 0
	s.stMu.Unlock()
	if queued {
		s.flush()
	}
	err := errors.Join(d.writeMark(true), d.db.Close(), d.mark.Close())
	d.db = nil
	return err
}

// markPath is the generation file of a state file: the file id and
// generation of the state file when the mock last committed, to tell at
// start whether the state file is the one the mock left.
func markPath(path string) string { return path + ".generation" }

const markFormat = "iotda-mock state file %32s generation %020d\n"

// writeMark writes the generation file in place (always the same size).
func (d *disk) writeMark(sync bool) error {
	if _, err := fmt.Fprintf(io.NewOffsetWriter(d.mark, 0), markFormat, d.fileID, d.generation); err != nil {
		return err
	}
	if sync {
		return d.mark.Sync()
	}
	return nil
}

// readMark reads the generation file; ok is false when there is none.
func readMark(path string) (fileID string, generation uint64, ok bool, err error) {
	data, err := os.ReadFile(markPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, err
	}
	if _, err := fmt.Sscanf(string(data), markFormat, &fileID, &generation); err != nil || len(fileID) != 32 {
		return "", 0, false, fmt.Errorf("%s is not a generation file of the mock", markPath(path))
	}
	return fileID, generation, true, nil
}

// openDB opens a state file; another process holding it is an error
// after a second, not a wait. Commits do not write bbolt's list of free
// pages (fewer pages to sync); it is rebuilt at open from the pages in use.
func openDB(path string, readOnly bool) (*bolt.DB, fs.FileInfo, error) {
	var file *os.File
	open := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: readOnly, OpenFile: open, NoFreelistSync: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, nil, fmt.Errorf("%s is in use by another process (another mock?)", path)
	}
	if err != nil {
		return nil, nil, err
	}
	info, err := file.Stat()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, info, nil
}

// openState opens the state file at path, creating it when there is none,
// and loads it. It refuses a file that is not a state file of this
// version or is damaged or cut short, and, unless recoverStale is set, one
// that does not follow from the state the mock last committed there (see
// the package documentation).
func (s *Server) openState(path string, recoverStale bool) error {
	hint := "move it away to start with an empty state, or restore a copy"
	if _, err := os.Stat(path + ".log"); err == nil {
		return fmt.Errorf("%s.log is the log of the JSON state file of earlier versions of the mock, which this version does not read: move %s and %s.log away to start with an empty state", path, path, path)
	}
	markID, markGen, marked, err := readMark(path)
	if err != nil && !recoverStale {
		return fmt.Errorf("%v: remove it, or set Recover (iotda-mock -recover) to accept %s as it is", err, path)
	}
	// A generation file at 0 guards nothing: no change was committed, so
	// whatever now stands at path loses none.
	marked = marked && err == nil && markGen > 0
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if dir, err := os.Stat(filepath.Dir(path)); err != nil || !dir.IsDir() {
			return fmt.Errorf("the directory of the state file %s does not exist", path)
		}
		if marked && !recoverStale {
			return fmt.Errorf("%s is missing, though %s shows the mock committed %d times to it: the state is lost; restore the file, or set Recover (iotda-mock -recover) to start with an empty state", path, markPath(path), markGen)
		}
		if err := createState(path); err != nil {
			return fmt.Errorf("creating the state file: %w", err)
		}
	case err != nil:
		return fmt.Errorf("reading the state file: %w", err)
	case info.IsDir():
		return fmt.Errorf("the state file %s is a directory", path)
	case info.Size() == 0:
		return fmt.Errorf("the state file %s is empty (cut short?): %s", path, hint)
	}
	if head, err := readHead(path); err != nil {
		return fmt.Errorf("reading the state file: %w", err)
	} else if strings.HasPrefix(strings.TrimSpace(head), "{") {
		return fmt.Errorf("%s is a JSON state file of earlier versions of the mock, which this version does not read: move it away to start with an empty state", path)
	}
	db, info, st, m, err := openChecked(path)
	if err != nil {
		return fmt.Errorf("the state file %s cannot be used: %w; %s", path, err, hint)
	}
	if marked && !recoverStale {
		switch {
		case m.fileID != markID:
			err = fmt.Errorf("%s is not the state file the mock last used (its file id is %s, %s names %s): it was replaced", path, m.fileID, markPath(path), markID)
		case m.generation < markGen:
			err = fmt.Errorf("%s holds %d commits, but %s shows the mock made %d: it is an older copy, without the latest changes", path, m.generation, markPath(path), markGen)
		}
		if err != nil {
			db.Close()
			return fmt.Errorf("%v; restore the latest file, or set Recover (iotda-mock -recover) to use it as it is", err)
		}
	}
	// The file is locked now: no other mock is writing beside it.
	if err := removeLeftovers(path); err != nil {
		db.Close()
		return err
	}
	d := &disk{turn: make(chan struct{}, 1), path: path, db: db, file: info, fileID: m.fileID, generation: m.generation,
		beforeCommit: func() error { return nil }}
	d.turn <- struct{}{}
	if err := d.newMark(); err != nil {
		db.Close()
		return fmt.Errorf("writing %s: %w", markPath(path), err)
	}
	s.st, s.disk = st, d
	return nil
}

// newMark writes the generation file whole, atomically (a temporary file
// renamed over it), and keeps it open to rewrite it in place after each
// commit.
func (d *disk) newMark() error {
	tmp, err := os.CreateTemp(filepath.Dir(d.path), tempPattern(d.path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	old := d.mark
	d.mark = tmp
	err = d.writeMark(true)
	if err == nil {
		err = os.Rename(tmp.Name(), markPath(d.path))
	}
	if err == nil {
		err = syncDir(filepath.Dir(d.path))
	}
	if err != nil {
		tmp.Close()
		d.mark = old
		return err
	}
	if old != nil {
		old.Close()
	}
	return nil
}

// readHead returns the first bytes of a file.
func readHead(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, err := io.ReadFull(f, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	return string(buf[:n]), err
}

// openChecked opens a state file and loads it. It checks the file first,
// opened read-only: its size against what its pages need, every record
// (loadStore), then bbolt's own consistency check. Reading mapped memory
// past the end of a file cut short faults: that fault is turned into an
// error instead of ending the program. Only once the file passed is it
// opened for writing, which reads its list of free pages at once.
func openChecked(path string) (db *bolt.DB, info fs.FileInfo, st *store, m dbMeta, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading it failed: it is cut short or damaged (%v)", r)
		}
	}()
	check := func(tx *bolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("it is %d bytes long, but its pages need %d: it was cut short", info.Size(), tx.Size())
		}
		if _, _, err := loadStore(tx); err != nil {
			return err
		}
		var first error
		for err := range tx.Check() { // read to the end: the check runs until then
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("it is damaged: %w", first)
		}
		return nil
	}
	if db, info, err = openDB(path, true); err != nil {
		return nil, nil, nil, m, err
	}
	err = db.View(check)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, nil, m, err
	}
	if db, info, err = openDB(path, false); err != nil {
		return nil, nil, nil, m, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		var err error
		st, m, err = loadStore(tx)
		return err
	})
	if err != nil {
		db.Close()
		return nil, nil, nil, m, err
	}
	return db, info, st, m, nil
}

// createState creates an empty state file at path with a new file id: a
// temporary file in the same directory, renamed to path once complete.
func createState(path string) error {
	var id [16]byte
	_, _ = rand.Read(id[:]) // never fails
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Close(); err != nil {
		return err
	}
	db, err := bolt.Open(tmp.Name(), 0o600, nil)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error { return createBuckets(tx, dbMeta{fileID: hex.EncodeToString(id[:])}) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

// syncDir makes the entries of a directory durable.
func syncDir(path string) error {
	dir, err := os.Open(path)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// tempPattern is the os.CreateTemp pattern of the temporary files of a
// state file: ".NAME.tmp-*" in its directory.
func tempPattern(path string) string {
	return "." + filepath.Base(path) + ".tmp-*"
}

// removeLeftovers removes the temporary files a killed mock left beside
// the state file.
func removeLeftovers(path string) error {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // openState says the directory is missing
		}
		return err
	}
	prefix := strings.TrimSuffix(tempPattern(path), "*")
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("removing the leftover %s: %w", e.Name(), err)
		}
	}
	return nil
}
