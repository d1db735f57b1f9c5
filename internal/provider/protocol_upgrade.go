package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/vmihailenco/msgpack/v5"
)

// bindingSchemaVersion is the version of devicePolicyBindingResource.Schema.
const bindingSchemaVersion = 1

func (s *protocolServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	if resp, ok := currentBindingState(req); ok {
		return resp, nil
	}
	return s.frameworkServer.UpgradeResourceState(ctx, req)
}

// currentBindingState answers the upgrade of a binding's state that is
// already at the schema's version, which Terraform asks for every binding
// in state before it plans or refreshes it. The framework reads the JSON
// into a value of the schema's type, an attribute missing or null being
// null, and encodes that value; this does the same from the JSON's
// tokens to the MessagePack, without a value per target. It answers only
// the state as Terraform writes it: one object of the schema's attributes,
// each a string, a bool or null as the schema says, targets null or an
// object of empty strings with its keys in order (so no duplicate), and
// nothing after it. Anything else (version 0, a flatmap state, an attribute the
// schema does not have, a number where a string is, ...) goes to the
// framework, which converts what it can or gives the error.
func currentBindingState(req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, bool) {
	if req.TypeName != bindingTypeName || req.Version != bindingSchemaVersion || req.RawState == nil ||
		req.RawState.JSON == nil || req.RawState.Flatmap != nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(req.RawState.JSON))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var (
		strs      = map[string]*string{"id": nil, "policy_id": nil, "target_type": nil}
		exclusive *bool
		targets   []string // nil: null
		seen      = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok || seen[key] {
			return nil, false
		}
		seen[key] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, false
		}
		switch key {
		case "id", "policy_id", "target_type":
			switch v := tok.(type) {
			case nil:
			case string:
				strs[key] = &v
			default:
				return nil, false
			}
		case "exclusive":
			switch v := tok.(type) {
			case nil:
			case bool:
				exclusive = &v
			default:
				return nil, false
			}
		case "targets":
			if tok == nil {
				continue
			}
			if tok != json.Delim('{') {
				return nil, false
			}
			targets = []string{}
			for dec.More() {
				k, err := dec.Token()
				id, ok := k.(string)
				if err != nil || !ok || len(targets) > 0 && id <= targets[len(targets)-1] {
					return nil, false
				}
				v, err := dec.Token()
				if s, ok := v.(string); err != nil || !ok || s != "" {
					return nil, false
				}
				targets = append(targets, id)
			}
			if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}

	// The attributes in the order tftypes encodes an object's: by name.
	var out bytes.Buffer
	enc := msgpack.NewEncoder(&out)
	str := func(s *string) error {
		if s == nil {
			return enc.EncodeNil()
		}
		return enc.EncodeString(*s)
	}
	err := enc.EncodeMapLen(5)
	if err == nil {
		err = enc.EncodeString("exclusive")
	}
	if err == nil && exclusive == nil {
		err = enc.EncodeNil()
	} else if err == nil {
		err = enc.EncodeBool(*exclusive)
	}
	for _, name := range []string{"id", "policy_id", "target_type"} {
		if err == nil {
			err = enc.EncodeString(name)
		}
		if err == nil {
			err = str(strs[name])
		}
	}
	if err == nil {
		err = enc.EncodeString("targets")
	}
	if err == nil {
		err = encodeTargets(enc, targets)
	}
	if err != nil {
		return nil, false
	}
	return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: &tfprotov6.DynamicValue{MsgPack: out.Bytes()}}, true
}

// encodeTargets writes a targets map of ids, each with the value "", or
// null when ids is nil.
func encodeTargets(enc *msgpack.Encoder, ids []string) error {
	if ids == nil {
		return enc.EncodeNil()
	}
	if err := enc.EncodeMapLen(len(ids)); err != nil {
		return err
	}
	for _, id := range ids {
		if err := enc.EncodeString(id); err != nil {
			return err
		}
		if err := enc.EncodeString(""); err != nil {
			return err
		}
	}
	return nil
}
