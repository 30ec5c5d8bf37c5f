// kstatus: prints the status that Flux and kstatus compute for each Kubernetes object read on stdin.
// Input: a JSON array of objects; output: a JSON array of {name, status, message}. Built by the test harness.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	var raws []json.RawMessage
	if err := json.NewDecoder(os.Stdin).Decode(&raws); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading objects:", err)
		os.Exit(2)
	}
	verdicts := make([]verdict, 0, len(raws))
	for _, raw := range raws {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			fmt.Fprintln(os.Stderr, "kstatus: decoding object:", err)
			os.Exit(2)
		}
		res, err := status.Compute(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kstatus:", u.GetName(), err)
			os.Exit(1)
		}
		verdicts = append(verdicts, verdict{Name: u.GetName(), Status: string(res.Status), Message: res.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(verdicts); err != nil {
		os.Exit(1)
	}
}
