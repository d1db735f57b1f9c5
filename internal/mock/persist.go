package mock

import (
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
	changed, e := f()
	if changed {
		s.version++
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
		c.writing = true
		c.mu.Unlock()
		covered, err := s.writeState()
		c.mu.Lock()
		c.writing = false
		c.attempts++
		c.last, c.lastErr = covered, err
		if err == nil {
			c.durable = max(c.durable, covered)
		}
		c.cond.Broadcast()
		if err != nil {
			return err // covered >= v: the change was made before the encoding
		}
	}
	return nil
}

// writeState encodes the state under the read lock (readers go on) and
// writes it without any lock. It returns the version written.
func (s *Server) writeState() (uint64, error) {
	s.stMu.RLock()
	v := s.version
	data, err := s.st.encode()
	s.stMu.RUnlock()
	if err != nil {
		return v, err
	}
	return v, s.writeFile(s.statePath, data)
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
	dir, err := os.Open(filepath.Dir(path))
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
