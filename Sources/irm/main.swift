print("irm")
