module gobig

go 1.19
