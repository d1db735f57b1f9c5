package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// committer makes changes durable with group commit: a change is answered
// only once a state file holding it is on disk, and one write of the file
// covers every change made before it was encoded. While one request writes
// the file, the requests that change the state meanwhile wait, and the
// first of them then writes once for all of them.
type committer struct {
	mu   sync.Mutex
	cond *sync.Cond
	// writing says a request is writing the file now.
	writing bool
	// durable is the last version of the state that is on disk.
	durable uint64
	// attempts counts the writes; last is the version the last write
	// covered and lastErr its failure.
	attempts uint64
	last     uint64
	lastErr  error
}

// change runs f under the state's write lock and, when f says it changed
// the state, waits until that change is on disk. The lock is released
// before the file is written.
func (s *Server) change(f func() (changed bool, e *Error)) *Error {
	s.stMu.Lock()
	start := len(s.pending)
	changed, e := f()
	if changed {
		s.version++
		for i := start; i < len(s.pending); i++ {
			s.pending[i].V = s.version
		}
	} else {
		s.pending = s.pending[:start]
	}
	v := s.version
	s.stMu.Unlock()
	if !changed || s.statePath == "" {
		return e
	}
	if err := s.commit(v); err != nil {
		return &Error{Status: http.StatusInternalServerError, Code: codeInternal,
			Msg: "Internal error. The mock could not write its state file: " + err.Error()}
	}
	return e
}

// commit waits until version v of the state is on disk, writing the file
// itself when no other request is writing it.
func (s *Server) commit(v uint64) error {
	c := &s.committed
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.durable < v {
		if c.writing {
			seen := c.attempts
			for c.writing && c.attempts == seen {
				c.cond.Wait()
			}
			if c.lastErr != nil && c.last >= v && c.durable < v {
				return c.lastErr
			}
			continue
		}
		if err := s.write(false); err != nil {
			return err // the write covered v: the change was made before the encoding
		}
	}
	return nil
}

// write is one write of the state, by the one writer: the caller holds
// committed.mu, which is released while the disk is written, and no other
// write is under way. When closing, it writes the whole state file and then
// closes the log, before another write can start.
func (s *Server) write(closing bool) error {
	c := &s.committed
	c.writing = true
	c.mu.Unlock()
	if closing {
		s.needSnapshot = true
	}
	covered, err := s.writeState()
	var closeErr error
	if closing && s.log != nil {
		closeErr = s.log.Close() // after the sync: what was written is durable
		s.log = nil
	}
	c.mu.Lock()
	c.writing = false
	c.attempts++
	c.last, c.lastErr = covered, err
	if err == nil {
		c.durable = max(c.durable, covered)
		err = closeErr
	}
	c.cond.Broadcast()
	return err
}

// writeState makes the changes up to now durable and returns the number of
// the last one. It appends the pending records to the log; it writes the
// whole state file and empties the log instead when the log has outgrown
// the file, when there is no log yet, or after a failure (whose records
// may be missing from the log). The state is read under the read lock
// (readers go on); the disk is written with no lock held. Only one request
// at a time runs it (see commit).
func (s *Server) writeState() (uint64, error) {
	snapshot := s.needSnapshot || s.log == nil || s.logBytes > max(s.snapshotBytes, s.compactAt)
	s.stMu.RLock()
	v := s.version
	records := s.pending
	s.pending = nil
	var data []byte
	var err error
	if snapshot {
		data, err = s.st.encode(v)
	}
	s.stMu.RUnlock()
	if err == nil {
		err = s.beforeDurable()
	}
	if err == nil && snapshot {
		err = s.writeSnapshot(data)
	} else if err == nil {
		err = s.appendLog(records)
	}
	// Records taken from pending and not written are in no log: the next
	// write must be a whole state file.
	s.needSnapshot = err != nil
	return v, err
}

// writeSnapshot writes the whole state file, then empties the log.
func (s *Server) writeSnapshot(data []byte) error {
	if err := writeFileAtomic(s.statePath, data); err != nil {
		return err
	}
	if s.log == nil {
		f, err := os.OpenFile(logPath(s.statePath), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		s.log = f
	}
	if err := s.log.Truncate(0); err != nil {
		return err
	}
	if err := s.log.Sync(); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(s.statePath)); err != nil {
		return err
	}
	s.snapshotBytes, s.logBytes = int64(len(data)), 0
	return nil
}

// appendLog appends records to the log and syncs it.
func (s *Server) appendLog(records []logRecord) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one record a line
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if _, err := s.log.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := s.log.Sync(); err != nil {
		return err
	}
	// A log whose directory entry is gone would be lost on restart.
	open, err := s.log.Stat()
	if err != nil {
		return err
	}
	named, err := os.Stat(logPath(s.statePath))
	if err != nil {
		return err
	}
	if !os.SameFile(open, named) {
		return fmt.Errorf("%s was replaced", logPath(s.statePath))
	}
	s.logBytes += int64(buf.Len())
	return nil
}

// Close writes the whole state file, so that it holds every change alone,
// and closes the log. A change made after Close opens the log again.
func (s *Server) Close() error {
	if s.statePath == "" {
		return nil
	}
	c := &s.committed
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.writing {
		c.cond.Wait()
	}
	return s.write(true)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it,
// renames it over path and syncs the directory, so a reader sees the old
// file or the new one, never a part, and the new one survives a crash once
// this returns.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
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
			return nil // loadState says the directory is missing
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
