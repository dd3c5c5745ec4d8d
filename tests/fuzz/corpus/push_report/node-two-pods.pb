
node-a0.1.0€°…²şËœÃ €¬Çğ7(€¼ğæğ0€åšw8€€€€B
kubernetes.io/oslinuxJÈ
defaultweb-1$6b9f3c2a-1d4e-4f5a-8b7c-9d0e1f2a3b4c"

appweb"
tierfront(€€èïÊœÃ23
appcontainerd://0123abcd€€èïÊœÃ €º»È.(À„=0€26
sidecarcontainerd://0123abcd€€èïÊœÃ €º»È.(ˆ'0€J™
kube-system	coredns-0$6b9f3c2a-1d4e-4f5a-8b7c-9d0e1f2a3b4c"
k8s-appkube-dns(€€èïÊœÃ2:
corednscontainerd://0123abcd€€èïÊœÃ €º»È.(À·0€€€
