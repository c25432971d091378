//go:build js && wasm

// Command browser is the WebAssembly entry point of the lab in the page.
package main

func main() { select {} }
