module bpfcase.test/scalar

go 1.19
